import type { DomainEvents, RequestOrigin } from '../events/domain-events.js';
import type { EmailTokens } from '../mail/email-tokens.js';
import type { Mailer } from '../mail/mail.js';
import type { SendLimiter } from '../mail/send-limiter.js';
import type { Users } from './users.js';

/** How long a reset link works (the issue: 30 min). */
export const RESET_LINK_TTL_SECONDS = 30 * 60;

/** What a reset link carries; `email` is the address it was sent to (a later change of address voids it). */
export interface ResetPasswordPayload {
  userId: string;
  email: string;
  interactionUid?: string;
}

export type ResetRequestOutcome = { kind: 'check_email' } | { kind: 'throttled'; retryAfterSeconds: number };
export type ResetOutcome = { kind: 'invalid' } | { kind: 'done'; interactionUid?: string };

/**
 * "Forgot password?": a link by email, then a new password. The request answers the same for
 * any address (an unknown or disabled one gets no email). A reset ends everything the account
 * holds (sessions, grants, refresh tokens), proves the address, and tells the owner by email.
 */
export class PasswordResets {
  constructor(
    private readonly users: Users,
    private readonly tokens: EmailTokens,
    private readonly mailer: Mailer,
    private readonly limiter: SendLimiter,
    private readonly events: DomainEvents,
  ) {}

  async request(
    email: string,
    req: { clientAddress: string; interactionUid?: string; origin: RequestOrigin },
  ): Promise<ResetRequestOutcome> {
    // Counted for unknown addresses too, so the limit says nothing about which exist.
    const verdict = await this.limiter.consume('reset_password', email, req.clientAddress);
    if (!verdict.allowed) {
      this.events.emit(
        { type: 'email.send_throttled', kind: 'reset_password', retryAfterSeconds: verdict.retryAfterSeconds },
        req.origin,
      );
      return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
    }
    const user = await this.users.findByEmail(email);
    if (!user || user.disabled) return { kind: 'check_email' };
    const payload: ResetPasswordPayload = { userId: user.id, email: user.email, interactionUid: req.interactionUid };
    const token = await this.tokens.issue('reset_password', payload, RESET_LINK_TTL_SECONDS);
    await this.mailer.send(user.email, 'password-reset', {
      link: this.mailer.link(`/reset-password?token=${token}`),
      minutes: RESET_LINK_TTL_SECONDS / 60,
    });
    return { kind: 'check_email' };
  }

  /** Whether a link still works, without using it (the page that asks for the new password). */
  async peek(token: string): Promise<{ email: string } | undefined> {
    const payload = await this.tokens.peek<ResetPasswordPayload>('reset_password', token);
    return payload ? { email: payload.email } : undefined;
  }

  /**
   * Sets the new password. The policy is checked (and the hash made) before the link is spent,
   * so a refused password leaves the link usable; the link is then redeemed in one atomic take.
   * Throws `invalid_password` with the policy's message.
   */
  async reset(token: string, password: string, origin: RequestOrigin): Promise<ResetOutcome> {
    const peeked = await this.tokens.peek<ResetPasswordPayload>('reset_password', token);
    if (!peeked) return { kind: 'invalid' };
    const account = await this.users.findByEmail(peeked.email);
    if (!account || account.id !== peeked.userId) return { kind: 'invalid' };
    const prepared = await this.users.preparePassword(password, { email: account.email, name: account.name });
    const payload = await this.tokens.redeem<ResetPasswordPayload>('reset_password', token);
    if (!payload) return { kind: 'invalid' };
    // Revokes every session, grant and refresh token of the account (Users.update with a password).
    const user = await this.users.update(payload.userId, { prepared, emailVerified: true });
    this.events.emit({ type: 'password.reset', accountId: user.id }, origin);
    await this.mailer.send(user.email, 'password-changed', {
      reset: true,
      signedOut: true,
      when: new Date().toUTCString(),
      resetLink: this.mailer.link('/forgot-password'),
    });
    return { kind: 'done', interactionUid: payload.interactionUid };
  }
}
