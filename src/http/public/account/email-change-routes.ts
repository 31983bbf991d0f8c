import type Router from '@koa/router';
import type { Context } from 'koa';
import { normalizeEmail } from '../../../domain/accounts/users.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { AccountKit } from './account-kit.js';

/** RFC 5321's longest path; the shape check is only to catch typing slips (the link proves the rest). */
const MAX_EMAIL_LENGTH = 254;
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const minutes = (seconds: number) => {
  const m = Math.ceil(seconds / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
};

/**
 * "Change email", the signed-in half: a recent sign-in, then a link to the new address. The
 * address changes only when the link is followed (emailLinkRoutes). An address another account
 * uses gets the same "Check your new inbox" answer and no link, so the page reveals no accounts.
 */
export function emailChangeRoutes(router: Router, kit: AccountKit): void {
  const { forms } = kit;

  const showForm = (ctx: Context, status = 200, error?: string, newEmail = '') => {
    const { session, user } = kit.signedIn(ctx);
    kit.send(ctx, status, 'account-email', 'Change email', {
      email: user.email,
      emailVerified: user.emailVerified,
      newEmail,
      error,
      action: forms.emailAction,
      csrf: forms.token(session, 'email'),
    });
  };

  router.get(
    '/account/email',
    kit.recent(() => '/account/email'),
    (ctx) => showForm(ctx),
  );

  router.post(
    '/account/email',
    kit.recent(() => '/account/email'),
    async (ctx) => {
      const { session, user } = kit.signedIn(ctx);
      const form = ctx.request.body as Record<string, string>;
      forms.check(session, 'email', form);
      const newEmail = normalizeEmail(String(form.new_email ?? ''));
      if (newEmail.length > MAX_EMAIL_LENGTH || !EMAIL_SHAPE.test(newEmail))
        return showForm(ctx, 400, 'Enter an email address, like name@example.com.', newEmail);
      if (newEmail.toLowerCase() === user.email.toLowerCase())
        return showForm(ctx, 400, 'That is already your email address.', newEmail);
      const verdict = await kit.changes.requestEmailChange(user, newEmail, kit.origin(ctx));
      if (!verdict.allowed) {
        ctx.set('Retry-After', String(verdict.retryAfterSeconds));
        const wait = minutes(verdict.retryAfterSeconds);
        return showForm(ctx, 429, `Too many emails were asked for. Try again in ${wait}.`, newEmail);
      }
      kit.send(ctx, 200, 'account-email-sent', 'Check your new inbox', { email: user.email, newEmail });
    },
  );
}

/**
 * The link in the `verify-new-email` message, `/account/email/verify?token=…`: open in any
 * browser, signed in or not (the token is the proof of the new inbox; the change itself was
 * asked for after a recent sign-in). The GET only shows a "Confirm new email" button, so a mail
 * scanner that fetches links cannot use the token up; the POST redeems it, once.
 */
export function emailLinkRoutes(router: Router, kit: AccountKit): void {
  const linkGone = (ctx: Context) =>
    kit.send(ctx, 400, 'account-message', 'Link expired', {
      heading: 'This link has expired or was already used',
      message: 'Your email address was not changed. Ask for a new link from your account page.',
      linkHref: '/account',
      linkLabel: 'Back to your account',
    });

  router.get('/account/email/verify', async (ctx) => {
    const token = String(ctx.query.token ?? '');
    const pending = await kit.changes.pendingEmailChange(token);
    if (!pending) return linkGone(ctx);
    kit.send(ctx, 200, 'account-email-confirm', 'Confirm your new email address', {
      newEmail: pending.newEmail,
      token,
      action: kit.forms.emailVerifyAction,
    });
  });

  router.post('/account/email/verify', async (ctx) => {
    const token = String((ctx.request.body as Record<string, string>).token ?? '');
    let changed: Awaited<ReturnType<AccountKit['changes']['confirmEmailChange']>>;
    try {
      changed = await kit.changes.confirmEmailChange(token, kit.origin(ctx));
    } catch (err) {
      if (!(err instanceof GatehouseError) || err.code !== 'conflict') throw err;
      return kit.send(ctx, 409, 'account-message', 'Email not changed', {
        heading: 'Your email address was not changed',
        message: 'Another account uses this address now. Nothing was changed.',
        linkHref: '/account',
        linkLabel: 'Back to your account',
      });
    }
    if (!changed) return linkGone(ctx);
    kit.send(ctx, 200, 'account-message', 'Email address changed', {
      heading: 'Email address changed',
      message: `Your account now uses ${changed.email}. We told your old address about the change.`,
      linkHref: '/account',
      linkLabel: 'Go to your account',
    });
  });
}
