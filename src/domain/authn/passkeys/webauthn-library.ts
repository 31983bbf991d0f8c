/**
 * @simplewebauthn/server, loaded on first passkey use (a sign-in page that offers passkeys, an
 * enrolment): it costs ~15 MB and ~350 ms that a start-up need not pay.
 */
let loading: Promise<typeof import('@simplewebauthn/server')> | undefined;

export function webAuthnLibrary(): Promise<typeof import('@simplewebauthn/server')> {
  loading ??= import('@simplewebauthn/server');
  return loading;
}

/** base64url without padding, as @simplewebauthn's isoBase64URL.fromBuffer writes it. */
export const toBase64Url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** The bytes of a base64url string, as isoBase64URL.toBuffer reads it. */
export const fromBase64Url = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(text, 'base64url'));
