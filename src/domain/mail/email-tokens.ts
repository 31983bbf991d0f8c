import { createHash, randomBytes } from 'node:crypto';
import type { OneTimeValues } from '../authn/one-time-values.js';

/** What a link in an email is for; a token of one purpose is never accepted for another. */
export type EmailTokenPurpose = 'verify_email' | 'reset_password' | 'sign_in_link' | 'change_email';

/** 256 bits: well over the 128 the issue asks of a link token, in 43 base64url characters. */
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Tokens in email links: random, stored only as their SHA-256 (a database read does not yield a
 * working link), with a lifetime, and redeemed at most once (the store's atomic take). The
 * store must be durable (SQL): a verification link lives a day and must survive a Redis restart.
 */
export class EmailTokens {
  constructor(private readonly store: OneTimeValues) {}

  async issue<T>(purpose: EmailTokenPurpose, payload: T, ttlSeconds: number): Promise<string> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    await this.store.put(keyOf(purpose, token), payload, ttlSeconds);
    return token;
  }

  /** The payload, once; undefined for a malformed, unknown, expired or already used token. */
  async redeem<T>(purpose: EmailTokenPurpose, token: string): Promise<T | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    return this.store.take<T>(keyOf(purpose, token));
  }

  /** The payload without using the token (the page that asks for a new password, before it is sent). */
  async peek<T>(purpose: EmailTokenPurpose, token: string): Promise<T | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    return this.store.peek<T>(keyOf(purpose, token));
  }
}

const keyOf = (purpose: EmailTokenPurpose, token: string) =>
  `email-token:${purpose}:${createHash('sha256').update(token).digest('base64url')}`;
