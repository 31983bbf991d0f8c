import type { Context } from 'koa';
import type { AuditActor, AuditRequestContext } from '../../domain/audit/audit-event.js';

/** Where a request came from, for an audit event: client IP (proxy-aware per the app), user agent, request id. */
export function auditContext(ctx: Context): AuditRequestContext {
  return {
    ip: ctx.ip || undefined,
    userAgent: ctx.get('user-agent') || undefined,
    requestId: (ctx.state as { requestId?: string }).requestId ?? (ctx.get('x-request-id') || undefined),
  };
}

/**
 * Who made an admin request: the identity admin auth put on `ctx.state.adminActor`
 * (`admin:key`, `client:<id>` for an admin access token), else the bootstrap key.
 */
export function adminActor(ctx: Context): AuditActor {
  const actor = (ctx.state as { adminActor?: string }).adminActor;
  return actor && /^(admin|client|user):./.test(actor) ? (actor as AuditActor) : 'admin:key';
}
