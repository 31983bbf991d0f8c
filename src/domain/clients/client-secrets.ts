import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 bits: a fast hash is safe for a secret this long, and keeps client_credentials fast. */
const SECRET_BYTES = 32;
const PREFIX = 'sha256:';

export function generateClientSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

export function hashClientSecret(secret: string): string {
  return PREFIX + createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Constant-time check of a presented secret against the stored hash. */
export function clientSecretMatches(stored: string | undefined, presented: unknown): boolean {
  if (!stored?.startsWith(PREFIX) || typeof presented !== 'string') return false;
  const a = Buffer.from(stored);
  const b = Buffer.from(hashClientSecret(presented));
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a presented secret against the current hash and every rotated-out hash whose overlap
 * window is still open. Every candidate is compared (no early exit), so the time taken does not
 * tell which one matched.
 */
export function clientSecretMatchesAny(
  current: string | undefined,
  previous: readonly { hash: string; expires_at: number }[] | undefined,
  presented: unknown,
  nowSeconds: number,
): boolean {
  let matched = clientSecretMatches(current, presented);
  for (const old of previous ?? []) {
    const match = clientSecretMatches(old.hash, presented);
    matched = (match && old.expires_at > nowSeconds) || matched;
  }
  return matched;
}

export function generateClientId(): string {
  return randomBytes(16).toString('base64url');
}
