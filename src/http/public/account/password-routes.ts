import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { GatehouseError } from '../../../domain/errors.js';
import { renderErrorPage } from '../pages.js';
import type { AccountKit } from './account-kit.js';

/** The policy's messages are lower-case rules ("password must be at least 15 characters"): a sentence on the page. */
export const sentence = (message: string) => `${message.charAt(0).toUpperCase()}${message.slice(1)}.`;

/**
 * "Change password": the current password, the new one (checked by the password policy), and
 * "Sign out of other sessions". The current password is the proof, so no recent sign-in is
 * needed, except to set a first password on an account without one (passkeys only).
 */
export function passwordRoutes(router: Router, kit: AccountKit): void {
  const { deps, forms } = kit;

  const recentWhenSetting = async (ctx: Context, next: Next) => {
    if (await deps.users.hasPassword(kit.signedIn(ctx).user.id)) return next();
    return kit.recent(() => '/account/password')(ctx, next);
  };

  const showForm = async (ctx: Context, status = 200, error?: string, signOutOthers = false) => {
    const { session, user } = kit.signedIn(ctx);
    const hasPassword = await deps.users.hasPassword(user.id);
    const heading = hasPassword ? 'Change password' : 'Set a password';
    kit.send(ctx, status, 'account-password', heading, {
      heading,
      hasPassword,
      email: user.email,
      error,
      minLength: deps.passwordMinLength,
      signOutOthers,
      action: forms.passwordAction,
      csrf: forms.token(session, 'password'),
    });
  };

  router.get('/account/password', recentWhenSetting, (ctx) => showForm(ctx));

  router.post('/account/password', recentWhenSetting, async (ctx) => {
    const { session, user } = kit.signedIn(ctx);
    const form = ctx.request.body as Record<string, string>;
    forms.check(session, 'password', form);
    const signOutOthers = form.sign_out_others === 'yes';
    if (deps.signInThrottle) {
      const verdict = await deps.signInThrottle.check(ctx.ip);
      if (!verdict.allowed) {
        ctx.set('Retry-After', String(verdict.retryAfterSeconds));
        return renderErrorPage(deps.views, ctx, 429, 'too_many_requests');
      }
    }
    const hadPassword = await deps.users.hasPassword(user.id);
    try {
      await kit.changes.changePassword(
        {
          user,
          sessionUid: session.uid,
          current: String(form.current_password ?? ''),
          next: String(form.new_password ?? ''),
          signOutOthers,
        },
        kit.origin(ctx),
      );
    } catch (err) {
      if (!(err instanceof GatehouseError)) throw err;
      if (err.code === 'invalid_credentials')
        return showForm(ctx, 400, 'The current password is wrong. Check it and try again.', signOutOthers);
      if (err.code === 'invalid_password') return showForm(ctx, 400, sentence(err.message), signOutOthers);
      throw err;
    }
    if (!hadPassword) return kit.done(ctx, 'password-set');
    kit.done(ctx, signOutOthers ? 'password-changed-signed-out' : 'password-changed');
  });
}
