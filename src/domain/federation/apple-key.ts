import { createPrivateKey } from 'node:crypto';

/**
 * Sign in with Apple authenticates the client with a JWT signed by a key from the Apple Developer
 * account, downloaded once as a `.p8` file: a PKCS#8 PEM of an EC P-256 private key. It is given as
 * the connection's `client_secret` and checked here when saved, so a wrong file is a clear 400 on
 * the admin API rather than a failed sign-in later.
 */
const PKCS8_PEM = /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----\n?$/;

/**
 * The key as stored: a `.p8` pasted into an environment variable often arrives with `\n` escapes
 * and Windows line ends; both are the same key.
 */
export function normalizeAppleKey(pem: string): string {
  const text = pem.includes('\n') ? pem : pem.replace(/\\n/g, '\n');
  return `${text.replace(/\r\n?/g, '\n').trim()}\n`;
}

/** Why this is not a usable `.p8` (PKCS#8 PEM, EC P-256 private key), or undefined. */
export function appleKeyProblem(pem: string): string | undefined {
  const problem = 'client_secret: must be the .p8 private key from Apple (a PKCS#8 PEM of an EC P-256 key)';
  if (!PKCS8_PEM.test(pem)) return problem;
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return problem;
  } catch {
    return problem;
  }
  return undefined;
}
