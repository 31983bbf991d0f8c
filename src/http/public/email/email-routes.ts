import Router from '@koa/router';
import type { Users } from '../../../domain/accounts/users.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { EmailTokens } from '../../../domain/mail/email-tokens.js';
import type { Mailer } from '../../../domain/mail/mail.js';
import type { SendLimiter } from '../../../domain/mail/send-limiter.js';
import { formBody } from '../../middleware/body-parsers.js';
import type { Views } from '../../views.js';
import type { CsrfTokens } from '../interactions/csrf.js';
import { type SignInLinkDeps, signInLinkRoutes } from './sign-in-link-routes.js';

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
}

const FORM_LIMIT_BYTES = 16 * 1024;

/** Paths of the email pages on the public port (public-app.ts routes them here). */
export const EMAIL_PAGE_PATHS = /^\/(verify-email|forgot-password|reset-password|sign-in-link)(\/|\?|$)/;

/**
 * Pages outside an interaction, reached from links in emails: verify an address, reset a
 * password, open a sign-in link. Links are built on ISSUER (Mailer.link).
 */
export function emailRoutes(_deps: EmailPagesDeps): Router {
  const router = new Router();
  router.use(formBody(FORM_LIMIT_BYTES));
  signInLinkRoutes(router, _deps);
  return router;
}
