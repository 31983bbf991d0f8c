import type { ThrottleVerdict } from '../authn/sign-in-throttle.js';

/** Emails a person can ask for; each is limited per address and per client address. */
export type SendKind = 'verify_email' | 'reset_password' | 'sign_in_code' | 'sign_in_link' | 'change_email';

/**
 * No email bombing: how many emails of a kind one address, and one client address, may ask for.
 * Counted across instances. Checked before anything else is done, so a refused send does no work.
 */
export interface SendLimiter {
  consume(kind: SendKind, email: string, clientAddress: string): Promise<ThrottleVerdict>;
}
