import { GatehouseError } from '../errors.js';
import type { DomainEvents, RequestOrigin } from '../events/domain-events.js';
import type { EmailTokens } from '../mail/email-tokens.js';
import type { Mailer } from '../mail/mail.js';
import type { SendLimiter } from '../mail/send-limiter.js';
import { RESET_LINK_TTL_SECONDS } from './password-resets.js';
import type { User } from './user.js';
import type { Users } from './users.js';

/** How long a verification link works (the issue: 24 h). */
export const VERIFY_LINK_TTL_SECONDS = 24 * 3600;

/** EMAIL_VERIFICATION. */
export type EmailVerificationMode = 'required' | 'optional' | 'off';

/**
 * What a verification link carries. `registration`: nothing exists yet (required mode), the
 * account is made from this when the link is followed — the password only as its Argon2 hash.
 * `address`: the account exists unverified (optional mode).
 */
export type VerifyEmailPayload = {
  interactionUid?: string;
  clientId?: string;
} & (
  | { kind: 'registration'; email: string; name: string | null; passwordHash: string }
  | { kind: 'address'; userId: string; email: string }
);

export interface RegistrationRequest {
  email: string;
  name: string | null;
  password: string;
  clientAddress: string;
  interactionUid: string;
  clientId?: string;
  origin: RequestOrigin;
}

/**
 * `check_email`: the one answer for a new and a taken address (`accountId` is set only in
 * optional mode for a new account, and is never shown); `signed_up`: EMAIL_VERIFICATION=off.
 */
export type RegistrationOutcome =
  | { kind: 'check_email'; accountId?: string }
  | { kind: 'signed_up'; user: User }
  | { kind: 'throttled'; retryAfterSeconds: number };

export type VerificationOutcome =
  | { kind: 'invalid' }
  /** The address got an account while the link waited: no second account is made. */
  | { kind: 'exists' }
  | { kind: 'created' | 'verified'; user: User; interactionUid?: string };

/**
 * Self-service registration with proof of the address. Nothing in the answer tells whether the
 * address already has an account: a taken address gets an email saying so, and both paths do
 * the same work (one Argon2 hash, one link token, one email).
 */
export class Registrations {
  constructor(
    private readonly users: Users,
    private readonly tokens: EmailTokens,
    private readonly mailer: Mailer,
    private readonly limiter: SendLimiter,
    private readonly events: DomainEvents,
    readonly mode: EmailVerificationMode,
  ) {}

  async start(req: RegistrationRequest): Promise<RegistrationOutcome> {
    if (this.mode === 'off') {
      const user = await this.users.create({ email: req.email, name: req.name, password: req.password });
      this.events.emit({ type: 'user.registered', accountId: user.id, clientId: req.clientId }, req.origin);
      return { kind: 'signed_up', user };
    }
    // The policy first (it says nothing about the address), then the send limit, then the work.
    const prepared = await this.users.preparePassword(req.password, { email: req.email, name: req.name });
    const verdict = await this.limiter.consume('verify_email', req.email, req.clientAddress);
    if (!verdict.allowed) {
      this.events.emit(
        { type: 'email.send_throttled', kind: 'verify_email', retryAfterSeconds: verdict.retryAfterSeconds },
        req.origin,
      );
      return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
    }
    const taken = await this.users.findByEmail(req.email);
    if (taken) {
      await this.sendAccountExists(taken);
      return { kind: 'check_email' };
    }
    const from = { interactionUid: req.interactionUid, clientId: req.clientId };
    if (this.mode === 'required') {
      const payload: VerifyEmailPayload = {
        kind: 'registration',
        email: req.email,
        name: req.name,
        passwordHash: prepared.passwordHash,
        ...from,
      };
      await this.sendVerification(req.email, payload);
      return { kind: 'check_email' };
    }
    let user: User;
    try {
      user = await this.users.create({ email: req.email, name: req.name, prepared, emailVerified: false });
    } catch (err) {
      if (!(err instanceof GatehouseError && err.code === 'conflict')) throw err;
      const other = await this.users.findByEmail(req.email);
      if (other) await this.sendAccountExists(other);
      return { kind: 'check_email' };
    }
    this.events.emit({ type: 'user.registered', accountId: user.id, clientId: req.clientId }, req.origin);
    await this.sendVerification(user.email, { kind: 'address', userId: user.id, email: user.email, ...from });
    return { kind: 'check_email', accountId: user.id };
  }

  /** The address a link is for, without using it (the confirm page); undefined when it does not work. */
  async peek(token: string): Promise<{ email: string; interactionUid?: string } | undefined> {
    const payload = await this.tokens.peek<VerifyEmailPayload>('verify_email', token);
    return payload ? { email: payload.email, interactionUid: payload.interactionUid } : undefined;
  }

  /** Spends the link (once, atomically) and makes or verifies the account. */
  async verify(token: string, origin: RequestOrigin): Promise<VerificationOutcome> {
    const payload = await this.tokens.redeem<VerifyEmailPayload>('verify_email', token);
    if (!payload) return { kind: 'invalid' };
    const { interactionUid } = payload;
    if (payload.kind === 'address') {
      const current = await this.users.findByEmail(payload.email);
      // The address changed since the link was sent: it proves nothing about the account's new one.
      if (!current || current.id !== payload.userId) return { kind: 'invalid' };
      const user = await this.users.update(current.id, { emailVerified: true });
      this.events.emit({ type: 'email.verified', accountId: user.id }, origin);
      return { kind: 'verified', user, interactionUid };
    }
    let user: User;
    try {
      user = await this.users.create({
        email: payload.email,
        name: payload.name,
        prepared: { passwordHash: payload.passwordHash },
        emailVerified: true,
      });
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'conflict') return { kind: 'exists' };
      throw err;
    }
    this.events.emit({ type: 'user.registered', accountId: user.id, clientId: payload.clientId }, origin);
    this.events.emit({ type: 'email.verified', accountId: user.id }, origin);
    return { kind: 'created', user, interactionUid };
  }

  private async sendVerification(email: string, payload: VerifyEmailPayload): Promise<void> {
    const token = await this.tokens.issue('verify_email', payload, VERIFY_LINK_TTL_SECONDS);
    await this.mailer.send(email, 'verify-email', { link: this.mailer.link(`/verify-email?token=${token}`) });
  }

  /** The owner learns someone tried; the reset link in it is a real one (and the same token write as a new address). */
  private async sendAccountExists(user: User): Promise<void> {
    const token = await this.tokens.issue(
      'reset_password',
      { userId: user.id, email: user.email },
      RESET_LINK_TTL_SECONDS,
    );
    await this.mailer.send(user.email, 'account-exists', {
      signInLink: this.mailer.link('/account'),
      resetLink: this.mailer.link(`/reset-password?token=${token}`),
      minutes: RESET_LINK_TTL_SECONDS / 60,
    });
  }
}
