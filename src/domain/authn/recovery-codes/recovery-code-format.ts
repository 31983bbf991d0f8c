import { randomInt } from 'node:crypto';

/**
 * Crockford's base32: digits and letters without I, L, O and U, so what is read off paper can
 * be typed back (I and L read as 1, O as 0 when normalising).
 */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 12 characters × 5 bits = 60 bits per code (the issue asks ≥ 50): unguessable within the attempt limit. */
export const RECOVERY_CODE_CHARS = 12;
export const RECOVERY_CODE_BITS = RECOVERY_CODE_CHARS * Math.log2(CROCKFORD_ALPHABET.length);
/** Enough to get through several lost phones; a new set replaces the old one. */
export const RECOVERY_CODES_PER_SET = 10;
/** Shown as xxxx-xxxx-xxxx. */
const GROUP = 4;

/** One code as shown: lower case, grouped with dashes. Each character from the CSPRNG without bias (randomInt). */
export function newRecoveryCode(): string {
  let raw = '';
  for (let i = 0; i < RECOVERY_CODE_CHARS; i++) raw += CROCKFORD_ALPHABET[randomInt(CROCKFORD_ALPHABET.length)];
  return raw
    .toLowerCase()
    .match(new RegExp(`.{1,${GROUP}}`, 'g'))!
    .join('-');
}

/** A set of distinct codes. */
export function newRecoveryCodeSet(count = RECOVERY_CODES_PER_SET): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(newRecoveryCode());
  return [...codes];
}

/**
 * What was typed, as it is hashed: case, dashes and spaces do not matter, and the letters
 * Crockford's alphabet leaves out read as the digits they look like. Undefined when it cannot
 * be a code (wrong length or characters), so it is refused without a lookup.
 */
export function normaliseRecoveryCode(typed: string): string | undefined {
  const code = typed
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (code.length !== RECOVERY_CODE_CHARS) return undefined;
  for (const c of code) if (!CROCKFORD_ALPHABET.includes(c)) return undefined;
  return code;
}
