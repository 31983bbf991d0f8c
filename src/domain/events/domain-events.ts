import type { StrategyId } from '../authn/strategy-id.js';

/** Where a request came from; every field optional because not every event has a request. */
export interface RequestOrigin {
  ip?: string;
  userAgent?: string;
  requestId?: string;
}

/**
 * What happened in sign-in and account self-service, as the domain says it. Routes and services
 * emit these; the audit log, the logs and the metrics subscribe (domain-event-subscribers.ts), so
 * no route writes an audit record by hand. `data` fields never hold secrets, codes or tokens.
 */
export type DomainEvent =
  | {
      type: 'login.succeeded';
      accountId: string;
      clientId?: string;
      methods: StrategyId[];
      amr: string[];
      acr: string;
      /** A federated sign-in: the connection and what the upstream asserted (its amr/acr). */
      upstream?: { connectionId: string; amr?: string[]; acr?: string };
    }
  | {
      type: 'login.failed';
      accountId?: string;
      clientId?: string;
      method: StrategyId;
      reason: string;
    }
  /** `connectionId`: created just in time on a first federated sign-in. */
  | { type: 'user.registered'; accountId: string; clientId?: string; connectionId?: string }
  | {
      type: 'consent.granted';
      accountId: string;
      clientId: string;
      grantId: string;
      scope: string[];
      claims: string[];
      resourceScopes: Record<string, string[]>;
      automatic: boolean;
    }
  /** A factor was turned on (`factor`: totp, passkey, recovery_codes) by the person or during sign-in. */
  | { type: 'factor.enrolled'; accountId: string; factor: string; credentialId: string; clientId?: string }
  /** `by`: the person (account page) or an admin (admin API). */
  | { type: 'factor.removed'; accountId: string; factor: string; credentialId?: string; by: string }
  | { type: 'recovery_code.used'; accountId: string; remaining: number }
  /** A passkey signature counter went backwards: a cloned authenticator or a replay. */
  | { type: 'passkey.counter_regression'; accountId: string; credentialId: string }
  | { type: 'second_factor.throttled'; accountId: string; retryAfterSeconds: number }
  /** One session (`sessionId`: its uid), or all of the account's (`count`); `by`: 'user' or the admin actor. */
  | { type: 'session.revoked'; accountId: string; sessionId?: string; count?: number; by: string }
  | { type: 'grant.revoked_by_user'; accountId: string; clientId: string }
  /** The owner of the address followed a verification link (registration, or a changed address). */
  | { type: 'email.verified'; accountId: string }
  /** A password was set through a reset link: every session, grant and refresh token was revoked. */
  | { type: 'password.reset'; accountId: string }
  /** The person changed their password on the account page. */
  | { type: 'password.changed'; accountId: string; otherSessionsRevoked: boolean }
  | { type: 'email.changed'; accountId: string }
  /** `by`: the person (account page) or an admin actor. */
  | { type: 'account.deleted'; accountId: string; by: string }
  /** Password sign-in locked after ACCOUNT_LOCKOUT_THRESHOLD consecutive failures. */
  | { type: 'account.locked'; accountId: string; failedAttempts: number }
  /** `by`: 'reset' (a successful password reset) or the admin actor. */
  | { type: 'account.unlocked'; accountId: string; by: string }
  /** A send (reset, verification, sign-in code or link) refused by its limit: no email bombing. */
  | { type: 'email.send_throttled'; kind: string; accountId?: string; retryAfterSeconds: number }
  /** A sign-in from a browser this account had not used before (the owner is emailed). */
  | { type: 'new_device.signed_in'; accountId: string }
  /** An upstream identity was linked to the account (`by`: 'jit' on creation, 'user' after confirming, or an admin). */
  | { type: 'identity.linked'; accountId: string; connectionId: string; identityId: string; by: string }
  | { type: 'identity.unlinked'; accountId: string; connectionId: string; identityId: string; by: string }
  /** A federated sign-in failed (`reason`: upstream error, state, nonce, id_token, link refused, …). */
  | { type: 'federation.failed'; connectionId: string; reason: string; accountId?: string }
  /** Log only (not audited): a message entered the outbox. Never the address or the content. */
  | { type: 'mail.queued'; messageId: string; template: string }
  | { type: 'mail.sent'; messageId: string; attempts: number }
  | { type: 'mail.failed'; messageId: string; attempts: number; error: string; retryAt?: string };

export type DomainEventType = DomainEvent['type'];

export type EventSubscriber = (event: DomainEvent, origin: RequestOrigin) => void;

/** One bus per process; subscribers are called in order, and one that throws does not stop the others. */
export class DomainEvents {
  readonly #subscribers: EventSubscriber[] = [];
  constructor(private readonly onSubscriberError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  subscribe(subscriber: EventSubscriber): this {
    this.#subscribers.push(subscriber);
    return this;
  }

  emit(event: DomainEvent, origin: RequestOrigin = {}): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event, origin);
      } catch (err) {
        this.onSubscriberError(err, event);
      }
    }
  }
}
