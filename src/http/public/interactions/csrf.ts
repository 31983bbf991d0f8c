import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens for interaction forms: an HMAC of the interaction id under a server key. The
 * interaction is already bound to the browser by its signed cookie, so a forged form from
 * another site carries neither the cookie-bound id nor a valid token. Stateless, so any
 * instance can check it.
 */
export class CsrfTokens {
  constructor(private readonly key: string) {}

  issue(interactionUid: string, form: string): string {
    return createHmac('sha256', this.key).update(`csrf:${form}:${interactionUid}`).digest('base64url');
  }

  valid(interactionUid: string, form: string, presented: unknown): boolean {
    if (typeof presented !== 'string') return false;
    const expected = Buffer.from(this.issue(interactionUid, form));
    const actual = Buffer.from(presented);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
