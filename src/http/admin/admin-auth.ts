import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { hasAdminScope, requiredAdminScope, type AdminTokenVerifier } from '../../domain/admin/admin-api-resource.js';
import type { AuditLog } from '../../domain/audit/audit-log.js';
import { GatehouseError } from '../../domain/errors.js';
import { auditContext } from '../middleware/audit-context.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

const REALM = 'Bearer realm="gatehouse-admin"';
/** A compact JWS: three base64url parts. Anything else can only be the bootstrap key. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * `Authorization: Bearer <credential>`, where the credential is either
 * - the bootstrap admin key, compared in constant time (digests have equal length) → actor `admin:key`;
 * - a Gatehouse access token for `urn:gatehouse:admin` (client_credentials grant), checked by
 *   `verifyToken` → actor `client:<client_id>`; GET/HEAD need admin:read or admin:write, every
 *   other method admin:write (403 insufficient_scope otherwise).
 * `ctx.state.adminActor` names who is acting, for the audit log.
 */
export function adminAuth(adminKey: string, verifyToken?: AdminTokenVerifier, audit?: AuditLog) {
  const expected = digest(adminKey);
  const refuse = (ctx: Context, code: 'unauthorized' | 'invalid_token', reason: string): never => {
    ctx.set('WWW-Authenticate', code === 'invalid_token' ? `${REALM}, error="invalid_token"` : REALM);
    ctx.state.log?.warn({ event: 'admin.auth_failed', ip: ctx.ip, reason }, 'admin authentication failed');
    // The presented credential is never recorded, only why it failed.
    audit?.record({
      type: 'admin.auth_failed',
      actor: 'anonymous',
      ...auditContext(ctx),
      data: { reason, method: ctx.method, path: ctx.path },
    });
    throw new GatehouseError(
      code,
      code === 'invalid_token'
        ? 'the access token is invalid, expired or revoked'
        : 'a valid admin bearer key or access token is required',
    );
  };
  return async function requireAdmin(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([\x21-\x7E]+)$/i.exec(header);
    if (!match) refuse(ctx, 'unauthorized', 'no bearer credential');
    const credential = match![1]!;
    if (timingSafeEqual(digest(credential), expected)) {
      ctx.state.adminActor = 'admin:key';
      return next();
    }
    if (!verifyToken || !JWT_SHAPE.test(credential)) refuse(ctx, 'unauthorized', 'wrong admin key');
    const check = await verifyToken!(credential);
    if (!check.ok) refuse(ctx, 'invalid_token', check.reason);
    const { principal } = check as Extract<typeof check, { ok: true }>;
    ctx.state.adminActor = `client:${principal.clientId}`;
    if (!hasAdminScope(principal.scopes, ctx.method)) {
      const needed = requiredAdminScope(ctx.method);
      ctx.set('WWW-Authenticate', `${REALM}, error="insufficient_scope", scope="${needed}"`);
      ctx.state.log?.warn(
        { event: 'admin.insufficient_scope', actor: ctx.state.adminActor, needed },
        'admin token lacks scope',
      );
      throw new GatehouseError('insufficient_scope', `this request needs the ${needed} scope`);
    }
    return next();
  };
}
