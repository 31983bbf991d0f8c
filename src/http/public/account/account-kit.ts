import type { Context, Next } from 'koa';
import type { AccountChanges, AccountChangesUsers } from '../../../domain/accounts/account-changes.js';
import type { User } from '../../../domain/accounts/user.js';
import type { Users } from '../../../domain/accounts/users.js';
import type { SignInThrottle } from '../../../domain/authn/sign-in-throttle.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import type { EmailTokens } from '../../../domain/mail/email-tokens.js';
import type { Mailer } from '../../../domain/mail/mail.js';
import type { SendLimiter } from '../../../domain/mail/send-limiter.js';
import type { AccountSession, AccountSessions } from '../../../oidc/account-session.js';
import { auditContext } from '../../middleware/audit-context.js';
import type { Views } from '../../views.js';
import type { CsrfTokens } from '../interactions/csrf.js';
import { sendPage } from '../pages.js';
import type { AccountForms } from './account-forms.js';
import type { AccountPageDeps, Notice } from './account-page.js';
import { isRecentSignIn } from './recent-sign-in.js';

export const BACK_TO_ACCOUNT = { href: '/account', label: 'Back to your account' };

export interface AccountDeps extends AccountPageDeps {
  /** The provider's browser session (src/oidc/account-session.ts). */
  accountSessions: AccountSessions;
  users: Pick<Users, 'findActive' | 'hasPassword'> & AccountChangesUsers;
  events: DomainEvents;
  /** Email for changes of password and address and for deletion (written to the outbox). */
  mailer: Mailer;
  /** The change-of-address link's token (durable, hashed, single use). */
  emailTokens: EmailTokens;
  /** Limits the change-of-address emails per address and per client address. */
  sendLimiter: SendLimiter;
  /** Guesses at the current password count with sign-in attempts per client address. */
  signInThrottle?: SignInThrottle;
  /** The password policy's minimum, shown beside "New password". */
  passwordMinLength: number;
  views: Views;
  csrf: CsrfTokens;
  issuer: string;
  /** The clock of the recent sign-in rule, in epoch milliseconds (tests move it). @default Date.now */
  now?: () => number;
}

/** Who is signed in, set by `signedIn` for every route after it. */
export interface SignedIn {
  session: AccountSession;
  user: User;
}

/** What the account's route modules share. */
export interface AccountKit {
  deps: AccountDeps;
  forms: AccountForms;
  /** Password, address and deletion (the domain service; each change is emailed and audited). */
  changes: AccountChanges;
  signedIn(ctx: Context): SignedIn;
  /** Middleware: a change needs a sign-in within the last five minutes; else "Confirm it is you". */
  recent(returnTo: (ctx: Context) => string): (ctx: Context, next: Next) => Promise<void>;
  send(ctx: Context, status: number, view: string, title: string, model: Record<string, unknown>): void;
  done(ctx: Context, notice: Notice): void;
  origin: typeof auditContext;
}

/** The shared part of the account routes, over `deps`, with the clock `now`. */
export function accountKit(
  deps: AccountDeps,
  forms: AccountForms,
  now: () => number,
  changes: AccountChanges,
): AccountKit {
  const kit: AccountKit = {
    deps,
    forms,
    changes,
    signedIn: (ctx) => ctx.state.account as SignedIn,
    recent: (returnTo) => async (ctx, next) => {
      if (isRecentSignIn(kit.signedIn(ctx).session.loginTs, now())) return next();
      ctx.status = 303;
      ctx.redirect(`/account/reauthenticate?${new URLSearchParams({ return: returnTo(ctx) })}`);
    },
    send: (ctx, status, view, title, model) => {
      const scripts = Array.isArray(model.scripts) && model.scripts.length > 0;
      sendPage(ctx, status, deps.views.render(view, title, model), scripts ? { scriptSelf: true } : undefined);
    },
    done: (ctx, notice) => {
      ctx.status = 303;
      ctx.redirect(`/account?done=${notice}`);
    },
    origin: auditContext,
  };
  return kit;
}
