import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { ADMIN_RESOURCE, type AdminTokenCheck, type AdminTokenVerifier } from '../domain/admin/admin-api-resource.js';

export interface AdminTokenVerifierDeps {
  issuer: string;
  /** Our public signing keys as published right now (they change with key rotation). */
  publicJwks: () => JSONWebKeySet;
  /** Whether the client-credentials JWT with this jti is still recorded (deleted on revocation, gone at expiry). */
  isRecorded(jti: string): Promise<boolean>;
  /** Whether the client still exists (deleting a client does not touch its client-credentials tokens). */
  clientExists(clientId: string): Promise<boolean>;
}

/** Admin tokens are signed with ES256 (admin-resource-server.ts); nothing else is accepted. */
const ALGORITHMS = ['ES256'];

/**
 * Checks a bearer JWT for the admin API: our signature, our issuer, `typ: at+jwt`, audience
 * `urn:gatehouse:admin`, not expired, issued by the client_credentials grant (`sub` is the
 * client), still recorded (not revoked) and its client still registered.
 */
export function createAdminTokenVerifier(deps: AdminTokenVerifierDeps): AdminTokenVerifier {
  let source: JSONWebKeySet | undefined;
  let keys: ReturnType<typeof createLocalJWKSet>;
  const currentKeys = () => {
    const jwks = deps.publicJwks();
    if (jwks !== source) {
      source = jwks;
      keys = createLocalJWKSet(jwks);
    }
    return keys;
  };
  return async function verifyAdminToken(token: string): Promise<AdminTokenCheck> {
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, currentKeys(), {
        issuer: deps.issuer,
        audience: ADMIN_RESOURCE,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
      }));
    } catch (err) {
      return { ok: false, reason: (err as { code?: string }).code ?? 'malformed' };
    }
    const { jti, client_id: clientId, sub, scope } = claims;
    if (typeof jti !== 'string' || typeof clientId !== 'string') return { ok: false, reason: 'missing claims' };
    // No scope claim: a valid token that grants nothing here (403, not 401).
    if (scope !== undefined && typeof scope !== 'string') return { ok: false, reason: 'malformed scope' };
    if (sub !== clientId) return { ok: false, reason: 'not a client credentials token' };
    if (!(await deps.isRecorded(jti))) return { ok: false, reason: 'revoked' };
    if (!(await deps.clientExists(clientId))) return { ok: false, reason: 'client deleted' };
    return { ok: true, principal: { clientId, scopes: (scope ?? '').split(' ').filter(Boolean) } };
  };
}
