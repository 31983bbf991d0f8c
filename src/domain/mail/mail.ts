import { randomUUID } from 'node:crypto';
import type { DomainEvents } from '../events/domain-events.js';

/**
 * Every email Gatehouse sends, one template each in `views/emails/<name>.txt` (first line: the
 * subject) and `views/emails/<name>.html`. Template data always has `productName` and `issuer`.
 */
export type EmailTemplate =
  /** Registration: the link that proves the address (`link`). */
  | 'verify-email'
  /** Registration with an address that already has an account: sign-in and reset links, no new account. */
  | 'account-exists'
  /** Forgot password: the reset link (`link`, `minutes`). */
  | 'password-reset'
  /** A password was reset or changed (`when`). */
  | 'password-changed'
  /** A 6-digit sign-in code (`code`, `minutes`). */
  | 'sign-in-code'
  /** A sign-in link (`link`, `minutes`). */
  | 'sign-in-link'
  /** A sign-in from a browser the account had not used before (`when`, `browser`, `ip`). */
  | 'new-device'
  /** Password sign-in locked after too many failures (`resetLink`). */
  | 'account-locked'
  /** Change of address: the link sent to the new address (`link`). */
  | 'verify-new-email'
  /** Change of address: the notice to the old address (`newEmail`). */
  | 'email-changed'
  /** The account was deleted. */
  | 'account-deleted';

export interface ComposedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Renders a template (the mail/ room implements it over views/emails/). */
export interface EmailComposer {
  compose(template: EmailTemplate, data: Record<string, unknown>): ComposedEmail;
}

export type OutboxStatus = 'queued' | 'sending' | 'sent' | 'failed';

export interface OutboxMessage extends ComposedEmail {
  id: string;
  to: string;
  template: EmailTemplate;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

/** Storage port of the outbox (durable SQL on both backends). */
export interface OutboxRepository {
  enqueue(message: { id: string; to: string; template: EmailTemplate } & ComposedEmail): Promise<void>;
  /** Newest first; `after` is the id of the last message of the previous page; `to` matches the address exactly (case-insensitive). */
  list(options: { limit: number; after?: string; to?: string }): Promise<OutboxMessage[]>;
  /**
   * Claims up to `limit` due messages for `leaseSeconds` in one statement (queued and due, or
   * `sending` with an expired lease); two workers never claim the same message at once.
   */
  claimDue(limit: number, leaseSeconds: number): Promise<OutboxMessage[]>;
  /** `sent`, with `sentAt`; the bodies are emptied (they hold working links). */
  markSent(id: string): Promise<void>;
  /** Back to `queued` at `retryAt`, or `failed` when `retryAt` is undefined (given up; bodies emptied). */
  markFailed(id: string, error: string, retryAt: Date | undefined): Promise<void>;
}

export interface MailerOptions {
  /** Shown in every email. @default Gatehouse */
  productName: string;
  /** ISSUER: the origin of every link in an email. */
  issuer: string;
}

/**
 * Sends email by writing it to the outbox: the caller's request never waits on SMTP, and a
 * message is never lost to an SMTP outage (the worker retries). Links are built from ISSUER only.
 */
export class Mailer {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly composer: EmailComposer,
    private readonly options: MailerOptions,
    private readonly events?: DomainEvents,
  ) {}

  /** An absolute link on the issuer: `path` is a path with its query (`/verify-email?token=…`). */
  link(path: string): string {
    return new URL(path, `${this.options.issuer}/`).toString();
  }

  async send(to: string, template: EmailTemplate, data: Record<string, unknown> = {}): Promise<string> {
    const composed = this.composer.compose(template, {
      productName: this.options.productName,
      issuer: this.options.issuer,
      issuerHost: new URL(this.options.issuer).host,
      email: to,
      ...data,
    });
    const id = randomUUID();
    await this.outbox.enqueue({ id, to, template, ...composed });
    this.events?.emit({ type: 'mail.queued', messageId: id, template });
    return id;
  }
}
