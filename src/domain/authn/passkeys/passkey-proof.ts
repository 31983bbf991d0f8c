import type { Proof } from '../sign-in-state.js';

/** What the authenticator said about itself in one ceremony. */
export interface PasskeyUse {
  /** The credential is backed up (synced to a cloud account), so it is not bound to one device. */
  backedUp: boolean;
  /** The authenticator checked the person (biometric or PIN), not only their presence. */
  userVerified: boolean;
}

/**
 * RFC 8176: `hwk` for a key that never leaves its device, `swk` for one that is copied (synced
 * passkeys), and `user` when the person was verified. A passkey is something you have; with user
 * verification it is also something you are (or know), and being bound to our origin it cannot
 * be phished: the policy counts that as phishing-resistant.
 */
export function passkeyProof(use: PasskeyUse): Proof {
  return {
    amr: [use.backedUp ? 'swk' : 'hwk', ...(use.userVerified ? ['user'] : [])],
    factors: use.userVerified ? ['possession', 'inherence'] : ['possession'],
    phishingResistant: use.userVerified,
  };
}
