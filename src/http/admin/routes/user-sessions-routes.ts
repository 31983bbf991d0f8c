import type Router from '@koa/router';
import type { UserGrant, UserSession, UserSessions } from '../../../domain/accounts/user-sessions.js';
import type { DomainEvents } from '../../../domain/events/domain-events.js';
import { adminActor, auditContext } from '../../middleware/audit-context.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function sessionResponse(s: UserSession) {
  return {
    uid: s.uid,
    created_at: iso(s.createdAt),
    expires_at: iso(s.expiresAt),
    login_at: iso(s.loginAt),
    client_ids: s.clientIds,
  };
}

function grantResponse(g: UserGrant) {
  return {
    id: g.id,
    client_id: g.clientId,
    scopes: g.scopes,
    resources: g.resources.map((r) => ({ indicator: r.indicator, scopes: r.scopes })),
    created_at: iso(g.createdAt),
    expires_at: iso(g.expiresAt),
  };
}

/**
 * /admin/users/:id/sessions and /grants: a user's browser sessions (by uid, never the session
 * id, which is the cookie value) and grants, and their revocation.
 */
export function userSessionsRoutes(r: Router, sessions: UserSessions, events?: DomainEvents): void {
  r.get('/users/:id/sessions', async (ctx) => {
    ctx.body = { items: (await sessions.listSessions(ctx.params.id!)).map(sessionResponse) };
  });
  r.delete('/users/:id/sessions', async (ctx) => {
    const count = await sessions.revokeSessions(ctx.params.id!);
    events?.emit({ type: 'session.revoked', accountId: ctx.params.id!, by: adminActor(ctx), count }, auditContext(ctx));
    ctx.status = 204;
  });
  r.delete('/users/:id/sessions/:sid', async (ctx) => {
    await sessions.revokeSession(ctx.params.id!, ctx.params.sid!);
    events?.emit(
      { type: 'session.revoked', accountId: ctx.params.id!, sessionId: ctx.params.sid!, by: adminActor(ctx) },
      auditContext(ctx),
    );
    ctx.status = 204;
  });
  r.get('/users/:id/grants', async (ctx) => {
    ctx.body = { items: (await sessions.listGrants(ctx.params.id!)).map(grantResponse) };
  });
  r.delete('/users/:id/grants/:grantId', async (ctx) => {
    await sessions.revokeGrant(ctx.params.id!, ctx.params.grantId!);
    ctx.state.log.info(
      { event: 'user.grant_revoked', userId: ctx.params.id, grantId: ctx.params.grantId },
      'user grant revoked',
    );
    ctx.status = 204;
  });
}
