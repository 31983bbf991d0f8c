import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * Browser (CORS) calls to the client-authenticated endpoints (token, introspection, revocation,
 * PAR, userinfo) are allowed only from the origins listed in the client's
 * `allowed_cors_origins`; a client without the list gets none, public or not. Discovery and JWKS
 * stay open to every origin (oidc-provider does not ask this function for them). A refused
 * origin gets `invalid_request` and no Access-Control-Allow-Origin.
 */
export function clientBasedCors(_ctx: KoaContextWithOIDC, origin: string, client: unknown): boolean {
  if (!origin || origin === 'null') return false;
  const allowed = (client as { allowed_cors_origins?: unknown }).allowed_cors_origins;
  return Array.isArray(allowed) && allowed.includes(origin);
}
