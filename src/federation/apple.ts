import { importPKCS8, SignJWT } from 'jose';
import type * as oidc from 'openid-client';
import type { OidcSettings } from '../domain/federation/connection.js';

/** The `aud` Apple expects in a client-secret JWT, whatever issuer a test points the connection at. */
export const APPLE_AUDIENCE = 'https://appleid.apple.com';
/**
 * Lifetime of a client-secret JWT. Apple accepts up to six months; one is minted per code exchange
 * (about 0.14 ms each, measured on the CI machine, next to a network round trip), so it only has
 * to outlive that request: five minutes covers clock skew without leaving a long-lived secret around.
 */
export const APPLE_CLIENT_SECRET_TTL_SECONDS = 300;
/** A name from Apple's `user` field is shown on the account page: kept to a sane length. */
const NAME_MAX = 200;

/**
 * Sign in with Apple's client authentication: `client_secret_post` whose secret is an ES256 JWT
 * (header `kid` = key ID; `iss` = team ID, `sub` = the Services ID, `aud` = appleid.apple.com),
 * signed with the connection's `.p8` key, minted fresh for every token request.
 */
export function appleClientAuth(settings: OidcSettings, pem: string, now: () => number): oidc.ClientAuth {
  const { apple_team_id: teamId, apple_key_id: keyId, client_id: clientId } = settings;
  if (!teamId || !keyId) throw new Error('preset apple without apple_team_id / apple_key_id');
  let key: ReturnType<typeof importPKCS8> | undefined;
  return async (_as, _client, body) => {
    key ??= importPKCS8(pem, 'ES256');
    const iat = Math.floor(now() / 1000);
    const secret = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: keyId })
      .setIssuer(teamId)
      .setSubject(clientId)
      .setAudience(APPLE_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + APPLE_CLIENT_SECRET_TTL_SECONDS)
      .sign(await key);
    body.set('client_id', clientId);
    body.set('client_secret', secret);
  };
}

/**
 * The name in Apple's `user` form field (`{"name":{"firstName","lastName"},"email"}`), which Apple
 * posts on the first sign-in only and which nobody signs: good enough for a display name, never for
 * the email (that comes from the ID token). Anything malformed is no name.
 */
export function appleUserName(raw: string | null): string | undefined {
  if (!raw || raw.length > 4096) return undefined;
  let user: unknown;
  try {
    user = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const name = (user as { name?: { firstName?: unknown; lastName?: unknown } } | null)?.name;
  const parts = [name?.firstName, name?.lastName].filter((p): p is string => typeof p === 'string');
  const full = parts
    .map((p) => p.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/\p{Cc}/gu, '');
  return full ? full.slice(0, NAME_MAX) : undefined;
}
