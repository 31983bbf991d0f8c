/**
 * The admin API as an OAuth resource server of Gatehouse itself (RFC 8707 indicator). It is
 * built in: the provider answers for it without a row in the resources table, and the admin
 * port accepts access tokens issued for it besides the bootstrap key.
 */
export const ADMIN_RESOURCE = 'urn:gatehouse:admin';

/** Reads (GET, HEAD) of the admin API. */
export const ADMIN_READ_SCOPE = 'admin:read';
/** Every admin request, reads included. */
export const ADMIN_WRITE_SCOPE = 'admin:write';

export const ADMIN_SCOPES = [ADMIN_READ_SCOPE, ADMIN_WRITE_SCOPE] as const;

/**
 * How the admin API appears in `GET /admin/resources`: discoverable like any API, but built in
 * (`built_in: true`) — it cannot be created, changed or deleted (409), and config-as-code leaves
 * it alone. Its tokens are ES256 JWTs (oidc/admin-resource-server.ts).
 */
export function adminApiResource(accessTokenTtlSeconds: number) {
  return {
    indicator: ADMIN_RESOURCE,
    name: 'Gatehouse admin API',
    scopes: [
      { name: ADMIN_READ_SCOPE, description: 'Read users, clients, resources, roles, keys and audit events' },
      { name: ADMIN_WRITE_SCOPE, description: 'Every admin request, reads included' },
    ],
    access_token_ttl_seconds: accessTokenTtlSeconds,
    access_token_format: 'jwt' as const,
    signing_alg: 'ES256' as const,
    built_in: true as const,
  };
}

/** Methods that change nothing and so need only admin:read. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/** The scope an admin request with this method needs (admin:write also satisfies admin:read). */
export function requiredAdminScope(method: string): typeof ADMIN_READ_SCOPE | typeof ADMIN_WRITE_SCOPE {
  return READ_METHODS.has(method.toUpperCase()) ? ADMIN_READ_SCOPE : ADMIN_WRITE_SCOPE;
}

export function hasAdminScope(granted: readonly string[], method: string): boolean {
  const needed = requiredAdminScope(method);
  return granted.includes(ADMIN_WRITE_SCOPE) || granted.includes(needed);
}

/** Who an admin access token speaks for, once every check has passed. */
export interface AdminTokenPrincipal {
  clientId: string;
  scopes: string[];
}

export type AdminTokenCheck = { ok: true; principal: AdminTokenPrincipal } | { ok: false; reason: string };

/** Port the admin port uses to check a bearer JWT; app.ts wires it to our keys and stores. */
export type AdminTokenVerifier = (token: string) => Promise<AdminTokenCheck>;
