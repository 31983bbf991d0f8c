import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { PasswordResets } from '../../../domain/accounts/password-resets.js';
import type { Registrations } from '../../../domain/accounts/registrations.js';
import { emailField } from '../../../domain/accounts/user-fields.js';
import type { Users } from '../../../domain/accounts/users.js';
import { GatehouseError } from '../../../domain/errors.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { EmailTokens } from '../../../domain/mail/email-tokens.js';
import type { Mailer } from '../../../domain/mail/mail.js';
import type { SendLimiter } from '../../../domain/mail/send-limiter.js';
import { auditContext } from '../../middleware/audit-context.js';
import { formBody } from '../../middleware/body-parsers.js';
import type { Views } from '../../views.js';
import type { CsrfTokens } from '../interactions/csrf.js';
import { type SignInLinkDeps, signInLinkRoutes } from './sign-in-link-routes.js';
import { sendPage } from '../pages.js';
import {
  FORGOT_HREF,
  forgotPasswordPage,
  linkExpiredPage,
  linkKey,
  noticePage,
  passwordMessage,
  resetLinkSentPage,
  SIGN_IN_HREF,
  tooManyEmailsPage,
  verificationPage,
} from './email-pages.js';

/** What the pages reached from email links (and the forms that send those emails) need. */
export interface EmailPagesDeps {
  views: Views;
  users: Users;
  events: DomainEvents;
  csrf: CsrfTokens;
  /** Writes email to the outbox. */
  mailer: Mailer;
  /** Single-use, hashed, expiring tokens for links (durable SQL). */
  emailTokens: EmailTokens;
  /** Per address and per client address limits on every send. */
  sendLimiter: SendLimiter;
  /** EMAIL_VERIFICATION. */
  emailVerification: 'required' | 'optional' | 'off';
  /** EMAIL_SIGN_IN (code) and EMAIL_SIGN_IN_LINK (link). */
  emailSignIn: { code: boolean; link: boolean };
  issuer: string;
  /** Email sign-in (sign-in-link-routes.ts); absent when EMAIL_SIGN_IN_LINK is off. */
  signInLinks?: SignInLinkDeps['signInLinks'];
  /** Registration with proof of the address: the verification link. */
  registrations: Registrations;
  /** The forgot-password form and the reset link. */
  passwordResets: PasswordResets;
  passwordMinLength: number;
}

const FORM_LIMIT_BYTES = 16 * 1024;

/** Paths of the email pages on the public port (public-app.ts routes them here). */
export const EMAIL_PAGE_PATHS = /^\/(verify-email|forgot-password|reset-password|sign-in-link)(\/|\?|$)/;

const tokenOf = (value: unknown) => (typeof value === 'string' ? value : '');

/**
 * Pages outside an interaction, reached from links in emails: verify an address, reset a
 * password, open a sign-in link. Links are built on ISSUER (Mailer.link). Every link opens a
 * page with a button first: mail scanners that fetch links must not spend single-use tokens.
 */
export function emailRoutes(deps: EmailPagesDeps): Router {
  const { views, csrf } = deps;
  const router = new Router();
  router.use(formBody(FORM_LIMIT_BYTES));
  const forgotCookie = new FormCookie(deps.issuer, csrf);

  const checkLinkCsrf = (token: string, form: string, presented: unknown) => {
    if (!token || !csrf.valid(linkKey(token), form, presented))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; open the link again');
  };

  router.get('/verify-email', async (ctx) => {
    const token = tokenOf(ctx.query.token);
    const pending = await deps.registrations.peek(token);
    if (!pending) return verificationPage(views, ctx, { kind: 'invalid' });
    ctx.set('Cache-Control', 'no-store');
    sendPage(
      ctx,
      200,
      views.render('confirm-email', 'Confirm your email address', {
        email: pending.email,
        token,
        csrf: csrf.issue(linkKey(token), 'verify-email'),
        // In the browser that asked, the interaction's cookie (scoped to its path) comes with this POST.
        action: pending.interactionUid ? `/interaction/${pending.interactionUid}/verify-email` : '/verify-email',
      }),
    );
  });

  router.post('/verify-email', async (ctx) => {
    const form = ctx.request.body as Record<string, string>;
    const token = tokenOf(form.token);
    checkLinkCsrf(token, 'verify-email', form.csrf);
    verificationPage(views, ctx, await deps.registrations.verify(token, auditContext(ctx)));
  });

  router.get('/forgot-password', (ctx) =>
    forgotPasswordPage(views, ctx, 200, {
      action: '/forgot-password',
      csrf: forgotCookie.issue(ctx),
      backHref: SIGN_IN_HREF,
    }),
  );

  router.post('/forgot-password', async (ctx) => {
    const form = ctx.request.body as Record<string, string>;
    if (!forgotCookie.valid(ctx, form.csrf))
      throw new GatehouseError('forbidden', 'the form expired or did not come from this site; go back and try again');
    const email = emailField.safeParse(form.email ?? '');
    if (!email.success)
      return forgotPasswordPage(views, ctx, 400, {
        action: '/forgot-password',
        csrf: forgotCookie.issue(ctx),
        email: form.email,
        error: 'Enter a valid email address.',
        backHref: SIGN_IN_HREF,
      });
    const outcome = await deps.passwordResets.request(email.data, { clientAddress: ctx.ip, origin: auditContext(ctx) });
    if (outcome.kind === 'throttled') return tooManyEmailsPage(views, ctx, outcome.retryAfterSeconds, FORGOT_HREF);
    resetLinkSentPage(views, ctx, email.data, SIGN_IN_HREF);
  });

  const resetForm = (ctx: Context, status: number, token: string, email: string, error?: string) => {
    ctx.set('Cache-Control', 'no-store');
    sendPage(
      ctx,
      status,
      views.render('reset-password', 'Choose a new password', {
        token,
        email,
        error,
        csrf: csrf.issue(linkKey(token), 'reset-password'),
        minLength: deps.passwordMinLength,
      }),
    );
  };
  const askAgain = { href: FORGOT_HREF, label: 'Ask for a new link' };

  router.get('/reset-password', async (ctx) => {
    const token = tokenOf(ctx.query.token);
    const link = await deps.passwordResets.peek(token);
    if (!link) return linkExpiredPage(views, ctx, askAgain);
    resetForm(ctx, 200, token, link.email);
  });

  router.post('/reset-password', async (ctx) => {
    const form = ctx.request.body as Record<string, string>;
    const token = tokenOf(form.token);
    checkLinkCsrf(token, 'reset-password', form.csrf);
    try {
      const outcome = await deps.passwordResets.reset(token, form.password ?? '', auditContext(ctx));
      if (outcome.kind === 'invalid') return linkExpiredPage(views, ctx, askAgain);
      noticePage(views, ctx, 200, {
        heading: 'Your password was reset',
        message: 'You were signed out everywhere. Sign in with your new password.',
        // The sign-in this reset started from, if this browser still has it (else the account page).
        linkHref: outcome.interactionUid ? `/interaction/${outcome.interactionUid}/resume` : SIGN_IN_HREF,
        linkLabel: 'Sign in',
      });
    } catch (err) {
      if (!(err instanceof GatehouseError && err.code === 'invalid_password')) throw err;
      const link = await deps.passwordResets.peek(token);
      if (!link) return linkExpiredPage(views, ctx, askAgain);
      resetForm(ctx, 400, token, link.email, passwordMessage(err.message));
    }
  });

  signInLinkRoutes(router, deps);
  return router;
}

/**
 * CSRF for a form outside an interaction: a random value in an httpOnly cookie (only for this
 * path) and, in the form, its MAC under the server key (signed double submit). Another site can
 * neither read the cookie nor make the MAC.
 */
class FormCookie {
  readonly #name: string;
  readonly #secure: boolean;
  constructor(
    issuer: string,
    private readonly mac: CsrfTokens,
  ) {
    this.#secure = new URL(issuer).protocol === 'https:';
    this.#name = this.#secure ? '__Secure-forgot_password' : 'forgot_password';
  }

  issue(ctx: Context): string {
    let value = ctx.cookies.get(this.#name);
    if (!value || !/^[A-Za-z0-9_-]{22}$/.test(value)) {
      value = randomBytes(16).toString('base64url');
      ctx.cookies.set(this.#name, value, {
        httpOnly: true,
        sameSite: 'lax',
        secure: this.#secure,
        path: FORGOT_HREF,
        overwrite: true,
      });
    }
    return this.mac.issue(`form:${value}`, 'forgot-password');
  }

  valid(ctx: Context, presented: unknown): boolean {
    const value = ctx.cookies.get(this.#name);
    return !!value && this.mac.valid(`form:${value}`, 'forgot-password', presented);
  }
}
