import { errors } from 'oidc-provider';
import { ADMIN_RESOURCE, ADMIN_SCOPES } from '../domain/admin/admin-api-resource.js';

/** ES256: small, fast to verify, and always in our key set. */
const ADMIN_TOKEN_ALG = 'ES256' as const;

/**
 * The built-in admin API resource server (no row in the resources table). A client gets admin
 * scopes only if they are in its registered `scope`: unlike ordinary APIs, a client with no
 * registered scope gets nothing here, so admin access is always an explicit grant. Only the
 * client_credentials grant may ask for it: admin access belongs to a machine client, never to
 * whichever user happens to consent in a browser.
 */
export function adminResourceServerInfo(ctx: unknown, client: unknown, ttlSeconds: number) {
  const grantType = (ctx as { oidc?: { params?: { grant_type?: unknown } } }).oidc?.params?.grant_type;
  if (grantType !== 'client_credentials')
    throw new errors.InvalidTarget(`${ADMIN_RESOURCE} is available to the client_credentials grant only`);
  const registered = (client as { registered_scope?: string }).registered_scope?.split(' ') ?? [];
  const scopes = ADMIN_SCOPES.filter((s) => registered.includes(s));
  if (!scopes.length) throw new errors.InvalidTarget(`client is not allowed ${ADMIN_RESOURCE}`);
  return {
    scope: scopes.join(' '),
    audience: ADMIN_RESOURCE,
    accessTokenTTL: ttlSeconds,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: ADMIN_TOKEN_ALG } },
  };
}

export { ADMIN_RESOURCE };
