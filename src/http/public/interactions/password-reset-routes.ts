import type Router from '@koa/router';
import type { Context } from 'koa';
import type { PasswordResets } from '../../../domain/accounts/password-resets.js';
import { emailField } from '../../../domain/accounts/user-fields.js';
import type { Views } from '../../views.js';
import { forgotPasswordPage, resetLinkSentPage, SIGN_IN_HREF, tooManyEmailsPage } from '../email/email-pages.js';
import type { InteractionKit } from './interaction-kit.js';

interface PasswordResetDeps {
  views: Views;
  kit: InteractionKit;
  passwordResets: PasswordResets;
}

/**
 * "Forgot password?" from the sign-in page: the form and its one answer ("Check your email")
 * for any address. The link in the email opens /reset-password (email-routes.ts); afterwards
 * "Sign in" comes back here (`/resume`) to the sign-in this started from, if it is still open.
 */
export function passwordResetRoutes(router: Router, deps: PasswordResetDeps): void {
  const { kit, views } = deps;

  const openForgot = async (ctx: Context) => {
    const d = await kit.details(ctx);
    await kit.clientOf(ctx, d);
    return d;
  };

  router.get('/:uid/forgot-password', async (ctx) => {
    const d = await openForgot(ctx);
    forgotPasswordPage(views, ctx, 200, {
      action: `/interaction/${d.uid}/forgot-password`,
      csrf: kit.csrf.issue(d.uid, 'forgot-password'),
      email: typeof d.params.login_hint === 'string' ? d.params.login_hint : '',
      backHref: `/interaction/${d.uid}`,
    });
  });

  router.post('/:uid/forgot-password', async (ctx) => {
    const d = await openForgot(ctx);
    const form = ctx.request.body as Record<string, string>;
    kit.checkCsrf(d, 'forgot-password', form);
    const email = emailField.safeParse(form.email ?? '');
    if (!email.success)
      return forgotPasswordPage(views, ctx, 400, {
        action: `/interaction/${d.uid}/forgot-password`,
        csrf: kit.csrf.issue(d.uid, 'forgot-password'),
        email: form.email,
        error: 'Enter a valid email address.',
        backHref: `/interaction/${d.uid}`,
      });
    const outcome = await deps.passwordResets.request(email.data, {
      clientAddress: ctx.ip,
      interactionUid: d.uid,
      origin: kit.origin(ctx),
    });
    if (outcome.kind === 'throttled')
      return tooManyEmailsPage(views, ctx, outcome.retryAfterSeconds, `/interaction/${d.uid}/forgot-password`);
    resetLinkSentPage(views, ctx, email.data, `/interaction/${d.uid}`);
  });

  /** Back to the sign-in after a reset: this browser's interaction if it is still open, else the account page. */
  router.get('/:uid/resume', async (ctx) => {
    const d = await kit.details(ctx).catch(() => undefined);
    ctx.status = 303;
    ctx.redirect(d ? `/interaction/${d.uid}` : SIGN_IN_HREF);
  });
}
