import { GatehouseError } from '../errors.js';
import type { DomainEvents, RequestOrigin } from '../events/domain-events.js';
import type { EmailTokens } from '../mail/email-tokens.js';
import type { Mailer } from '../mail/mail.js';
import type { SendLimiter } from '../mail/send-limiter.js';
import type { ThrottleVerdict } from '../authn/sign-in-throttle.js';
import type { User } from './user.js';
import type { UserSessions } from './user-sessions.js';
import type { Users } from './users.js';

/** A change-of-address link lives a day: long enough to reach a new inbox, as the issue asks. */
export const CHANGE_EMAIL_TTL_SECONDS = 24 * 60 * 60;

/** What a change-of-address link carries (stored hashed with the token, never in the link). */
export interface ChangeEmailPayload {
  userId: string;
  newEmail: string;
}

export type AccountChangesUsers = Pick<Users, 'get' | 'update' | 'delete' | 'changePassword' | 'emailInUse'>;

export interface AccountChangesDeps {
  users: AccountChangesUsers;
  userSessions: Pick<UserSessions, 'revokeOtherSessions'>;
  mailer: Pick<Mailer, 'send' | 'link'>;
  emailTokens: Pick<EmailTokens, 'issue' | 'redeem' | 'peek'>;
  sendLimiter: SendLimiter;
  events: DomainEvents;
  /** @default Date.now */
  now?: () => number;
}

const DATE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
export const emailTime = (ms: number) => `${DATE.format(new Date(ms))} UTC`;

/**
 * What a signed-in person changes about their own account: password, email address, deleting
 * it. Each change is told to the owner by email and emitted as a domain event (audited).
 */
export class AccountChanges {
  readonly #now: () => number;
  constructor(private readonly deps: AccountChangesDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /**
   * The current password must match; `signOutOthers` ends every other session and every grant
   * this browser's session does not use (with their tokens). This browser stays signed in.
   */
  async changePassword(
    input: { user: User; sessionUid: string; current: string; next: string; signOutOthers: boolean },
    origin: RequestOrigin,
  ): Promise<void> {
    const { users, userSessions, mailer, events } = this.deps;
    await users.changePassword(input.user.id, input.current, input.next);
    if (input.signOutOthers) await userSessions.revokeOtherSessions(input.user.id, input.sessionUid);
    events.emit(
      { type: 'password.changed', accountId: input.user.id, otherSessionsRevoked: input.signOutOthers },
      origin,
    );
    await mailer.send(input.user.email, 'password-changed', {
      when: emailTime(this.#now()),
      signedOut: input.signOutOthers,
      resetLink: mailer.link('/forgot-password'),
    });
  }

  /**
   * Sends a link to `newEmail`; the address changes only when it is followed. An address another
   * account uses gets no link and the caller the same answer (the page reveals no accounts).
   */
  async requestEmailChange(user: User, newEmail: string, origin: RequestOrigin): Promise<ThrottleVerdict> {
    const { users, mailer, emailTokens, sendLimiter, events } = this.deps;
    const verdict = await sendLimiter.consume('change_email', newEmail, origin.ip ?? '');
    if (!verdict.allowed) {
      events.emit(
        {
          type: 'email.send_throttled',
          kind: 'change_email',
          accountId: user.id,
          retryAfterSeconds: verdict.retryAfterSeconds,
        },
        origin,
      );
      return verdict;
    }
    if (await users.emailInUse(newEmail, user.id)) return verdict;
    const payload: ChangeEmailPayload = { userId: user.id, newEmail };
    const token = await emailTokens.issue('change_email', payload, CHANGE_EMAIL_TTL_SECONDS);
    await mailer.send(newEmail, 'verify-new-email', {
      link: mailer.link(`/account/email/verify?${new URLSearchParams({ token })}`),
    });
    return verdict;
  }

  /** The pending change a link stands for, without using it up (the page that asks to confirm). */
  pendingEmailChange(token: string): Promise<ChangeEmailPayload | undefined> {
    return this.deps.emailTokens.peek<ChangeEmailPayload>('change_email', token);
  }

  /**
   * Follows the link (once): the account's address becomes the new one, verified by this very
   * link; the old address is told. Undefined for an unknown, used or expired link.
   */
  async confirmEmailChange(token: string, origin: RequestOrigin): Promise<User | undefined> {
    const { users, mailer, emailTokens, events } = this.deps;
    const payload = await emailTokens.redeem<ChangeEmailPayload>('change_email', token);
    if (!payload) return undefined;
    const before = await users.get(payload.userId).catch(() => undefined);
    if (!before || before.disabled) return undefined;
    if (await users.emailInUse(payload.newEmail, before.id))
      throw new GatehouseError('conflict', 'another account uses this address now; nothing was changed');
    const after = await users.update(before.id, { email: payload.newEmail, emailVerified: true });
    events.emit({ type: 'email.changed', accountId: before.id }, origin);
    if (before.email.toLowerCase() !== after.email.toLowerCase())
      await mailer.send(before.email, 'email-changed', { newEmail: after.email });
    return after;
  }

  /** Deletes the account: every session, grant and token ends with it; the address is told. */
  async deleteAccount(user: User, origin: RequestOrigin): Promise<void> {
    const { users, mailer, events } = this.deps;
    await users.delete(user.id);
    events.emit({ type: 'account.deleted', accountId: user.id, by: 'user' }, origin);
    await mailer.send(user.email, 'account-deleted', {});
  }
}
