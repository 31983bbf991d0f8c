import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { VerificationOutcome } from '../../../domain/accounts/registrations.js';
import type { Views } from '../../views.js';
import { sendPage } from '../pages.js';

/** Where a person signs in outside an application: the account page starts a sign-in. */
export const SIGN_IN_HREF = '/account';
export const FORGOT_HREF = '/forgot-password';

/** A link token as the key of its form's CSRF token: the form works only for the link it came from. */
export const linkKey = (token: string) => createHash('sha256').update(token).digest('base64url');

/** The page after a register or forgot-password form: the same for every address. */
export function checkEmailPage(
  views: Views,
  ctx: Context,
  model: {
    message: string;
    hint: string;
    backHref?: string;
    backLabel?: string;
    continueAction?: string;
    continueCsrf?: string;
  },
): void {
  ctx.set('Cache-Control', 'no-store');
  sendPage(ctx, 200, views.render('check-email', 'Check your email', model));
}

interface Notice {
  heading: string;
  message: string;
  linkHref: string;
  linkLabel: string;
  secondaryHref?: string;
  secondaryLabel?: string;
  alert?: boolean;
}

export function noticePage(views: Views, ctx: Context, status: number, notice: Notice): void {
  ctx.set('Cache-Control', 'no-store');
  sendPage(ctx, status, views.render('email-notice', notice.heading, { ...notice }));
}

/** A used, expired or unknown link: say so plainly and offer the way to a new one. */
export function linkExpiredPage(views: Views, ctx: Context, again: { href: string; label: string }): void {
  noticePage(views, ctx, 410, {
    heading: 'This link has expired or was already used',
    message: 'Links in our emails work once and only for a while. Ask for a new one.',
    linkHref: again.href,
    linkLabel: again.label,
    alert: true,
  });
}

/** A send refused by its limit (counted for unknown addresses too, so it reveals nothing). */
export function tooManyEmailsPage(views: Views, ctx: Context, retryAfterSeconds: number, back: string): void {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  ctx.set('Retry-After', String(retryAfterSeconds));
  noticePage(views, ctx, 429, {
    heading: 'Too many emails',
    message: `We sent several emails for this address or from your network recently. Try again in ${minutes} minute${
      minutes === 1 ? '' : 's'
    }.`,
    linkHref: back,
    linkLabel: 'Back',
    alert: true,
  });
}

/** The answer to a followed verification link when no sign-in of this browser is waiting for it. */
export function verificationPage(views: Views, ctx: Context, outcome: VerificationOutcome): void {
  if (outcome.kind === 'invalid') {
    linkExpiredPage(views, ctx, { href: SIGN_IN_HREF, label: 'Sign in or create an account' });
    return;
  }
  if (outcome.kind === 'exists') {
    noticePage(views, ctx, 200, {
      heading: 'You already have an account',
      message: 'An account with this email address already exists. Sign in, or reset your password if you forgot it.',
      linkHref: SIGN_IN_HREF,
      linkLabel: 'Sign in',
      secondaryHref: FORGOT_HREF,
      secondaryLabel: 'Forgot password?',
    });
    return;
  }
  noticePage(views, ctx, 200, {
    heading: 'Email verified',
    message: `${outcome.user.email} is confirmed. You can now sign in.`,
    linkHref: SIGN_IN_HREF,
    linkLabel: 'Sign in',
  });
}

/** "Password" + the policy's rule, as the registration and reset forms show it. */
export const passwordMessage = (message: string) => `Password ${message.replace(/^password /, '')}.`;

/** The "Forgot password?" form (from the sign-in page, or standalone from an email link). */
export function forgotPasswordPage(
  views: Views,
  ctx: Context,
  status: number,
  model: { action: string; csrf: string; email?: string; error?: string; backHref?: string },
): void {
  ctx.set('Cache-Control', 'no-store');
  sendPage(ctx, status, views.render('forgot-password', 'Reset your password', { email: '', ...model }));
}

/** The one answer to a forgot-password form, whatever the address. */
export function resetLinkSentPage(views: Views, ctx: Context, email: string, backHref: string): void {
  checkEmailPage(views, ctx, {
    message: `If an account uses ${email}, we sent it a link to choose a new password.`,
    hint: 'The link works for 30 minutes. Nothing arrived? Check your spam folder, or ask again in a few minutes.',
    backHref,
    backLabel: 'Back to sign in',
  });
}
