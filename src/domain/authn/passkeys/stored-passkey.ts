import type { WebAuthnCredential } from '@simplewebauthn/server';
import type { Credential } from '../credentials.js';
import { fromBase64Url } from './webauthn-library.js';

/** A passkey's `public_data` (nothing in it is secret). */
export interface PasskeyPublicData {
  /** The COSE public key, base64url. */
  publicKey: string;
  /** How the browser can reach the authenticator (internal, hybrid, usb, …), as it reported them. */
  transports: string[];
  /** As of registration; every sign-in reports it afresh. */
  backedUp: boolean;
  deviceType: 'singleDevice' | 'multiDevice';
  /** The authenticator model (all zeros when it does not say). */
  aaguid: string;
}

const dataOf = (c: Credential) => c.publicData as unknown as PasskeyPublicData;

/**
 * The stored passkey as @simplewebauthn/server checks it. The counter is passed as 0 on purpose:
 * the library would compare it with the stored value itself, but the one check that counts is
 * the conditional write (CredentialRepository.advanceCounter), which two instances cannot both pass.
 */
export function webAuthnCredential(c: Credential): WebAuthnCredential {
  const data = dataOf(c);
  return {
    id: c.externalId!,
    publicKey: fromBase64Url(data.publicKey),
    counter: 0,
    transports: data.transports,
  };
}

/** For allowCredentials / excludeCredentials: which passkeys the browser should (not) use. */
export function descriptors(credentials: readonly Credential[]) {
  return credentials
    .filter((c) => c.type === 'passkey' && c.externalId)
    .map((c) => ({ id: c.externalId!, transports: dataOf(c).transports }));
}

/** The WebAuthn user handle of an account: the bytes of its id (what `userID` was at registration). */
export const userHandleOf = (accountId: string) => new TextEncoder().encode(accountId);
