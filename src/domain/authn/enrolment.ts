import type { RequestOrigin } from '../events/domain-events.js';
import type { Proof } from './sign-in-state.js';

/** The account a factor is being set up for. */
export interface EnrollingAccount {
  id: string;
  email: string;
  name: string | null;
}

export type EnrolmentResult =
  /** The factor is on. `proof`: what using it just now proved (the sign-in counts it as done). */
  { ok: true; credentialId: string; proof: Proof } | { ok: false; status: 400 | 401; message: string };

/**
 * Setting up a second factor, in two steps: `start` prepares it (a TOTP secret, a WebAuthn
 * challenge) and returns what its page shows; `finish` checks the person's answer and turns it
 * on. Used during sign-in (the policy requires MFA and nothing is enrolled) and on the account
 * page. `binding` ties the pending setup to one interaction or one account-page session, so a
 * setup started in one place cannot be finished from another; it is kept in short-lived storage.
 */
export interface EnrolmentMethod {
  readonly id: 'totp' | 'passkey';
  start(account: EnrollingAccount, binding: string): Promise<Record<string, unknown>>;
  finish(
    account: EnrollingAccount,
    binding: string,
    form: Record<string, string>,
    origin: RequestOrigin,
  ): Promise<EnrolmentResult>;
}

/** Recovery codes: shown once when made; a new set replaces the old one. */
export interface RecoveryCodeIssuer {
  /** Makes a new set for the account (the old set stops working) and returns the codes in the clear, once. */
  generate(userId: string): Promise<string[]>;
  /** Whether the account already has a set (used or not). */
  has(userId: string): Promise<boolean>;
}
