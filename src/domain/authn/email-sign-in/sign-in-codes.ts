import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** How long a sign-in code or link works: long enough to switch to the mail app, short enough to limit guessing. */
export const EMAIL_SIGN_IN_TTL_SECONDS = 10 * 60;

/**
 * Tries per code, right or wrong. With 6 digits that is 5 in 1,000,000 per code, and the send
 * limit (5 emails per address per hour) caps it at 25 guesses per address per hour.
 */
export const EMAIL_CODE_ATTEMPTS = 5;

const CODE_DIGITS = 6;
const CODE_SHAPE = /^\d{6}$/;

/** A 6-digit code, every value equally likely (randomInt rejects biased draws; no modulo bias). */
export function newSignInCode(): string {
  return randomInt(0, 10 ** CODE_DIGITS)
    .toString()
    .padStart(CODE_DIGITS, '0');
}

/** What a person typed, without the spaces and dashes people add when copying a code. */
export const normaliseCode = (typed: string): string => typed.replace(/[\s-]/g, '');

/**
 * Codes are kept as an HMAC under a server key, bound to the interaction and the address: a
 * read of the short-lived store does not give a working code (a plain hash of a 6-digit number
 * is reversed in a million tries), and a code cannot be moved to another sign-in.
 */
export class SignInCodeHasher {
  readonly #key: Buffer;

  /** `secret`: a server key; a purpose label is mixed in so this key is used for nothing else. */
  constructor(secret: string | Buffer) {
    this.#key = createHmac('sha256', secret).update('gatehouse email sign-in code v1').digest();
  }

  hash(interactionUid: string, email: string, code: string): string {
    return createHmac('sha256', this.#key)
      .update(`${interactionUid}\n${email.toLowerCase()}\n${code}`)
      .digest('base64url');
  }

  matches(stored: string | undefined, interactionUid: string, email: string, typed: string): boolean {
    const code = normaliseCode(typed);
    if (!stored || !CODE_SHAPE.test(code)) return false;
    const expected = Buffer.from(stored);
    const actual = Buffer.from(this.hash(interactionUid, email, code));
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
