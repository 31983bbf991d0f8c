import type { Configuration } from 'oidc-provider';

/**
 * oidc-provider's cookies, decided by the issuer's scheme rather than by the request: with an
 * https ISSUER every cookie is `Secure` (TLS may end at a proxy; the public handler makes
 * `ctx.secure` follow the issuer, see http/public/host-pinning.ts), and the names carry the
 * browser-enforced prefixes:
 * - `__Host-session` (Path=/, no Domain): the session cookie cannot be set or shadowed by a
 *   sibling subdomain or a plain-http page;
 * - `__Secure-interaction` and `__Secure-interaction_resume`: their paths are per interaction
 *   (`/interaction/<uid>`, `/authorize/<uid>`), which `__Host-` forbids, so they get the prefix
 *   that only requires Secure.
 * The `.sig` companions share the name and attributes. With an http ISSUER (local development)
 * the names stay oidc-provider's defaults and nothing is Secure, or browsers would drop them.
 */
export function cookiePolicy(issuer: string, keys: string[]): NonNullable<Configuration['cookies']> {
  const secure = new URL(issuer).protocol === 'https:';
  const options = { signed: true, httpOnly: true, sameSite: 'lax' as const, ...(secure ? { secure: true } : {}) };
  return {
    keys,
    names: secure
      ? { session: '__Host-session', interaction: '__Secure-interaction', resume: '__Secure-interaction_resume' }
      : { session: '_session', interaction: '_interaction', resume: '_interaction_resume' },
    long: options,
    short: { ...options },
  };
}
