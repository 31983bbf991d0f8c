import type Router from '@koa/router';
import type { AuditLog } from '../../../domain/audit/audit-log.js';
import { connectionPatchSchema } from '../../../domain/federation/connection-input.js';
import { asInput, type ConnectionView, type Connections } from '../../../domain/federation/connections.js';
import { GatehouseError } from '../../../domain/errors.js';
import { recordAdminChange } from '../admin-audit.js';
import { parseBody } from '../validate.js';

/**
 * The public shape: snake_case, the type's settings inline, `client_secret_set` instead of the
 * secret, and the URLs to register at the upstream (callback, or the SAML SP's metadata/ACS).
 */
export function connectionResponse(c: ConnectionView, issuer: string): Record<string, unknown> {
  const base = issuer.replace(/\/+$/, '');
  const slug = encodeURIComponent(c.slug);
  const urls =
    c.type === 'saml'
      ? {
          sp_metadata_url: `${base}/saml/${slug}/metadata`,
          sp_entity_id: `${base}/saml/${slug}`,
          acs_url: `${base}/saml/${slug}/acs`,
        }
      : { client_secret_set: c.secretSet, callback_url: `${base}/federation/${slug}/callback` };
  return {
    id: c.id,
    ...asInput(c),
    ...urls,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

/** What the audit log keeps of a connection: the public shape (no secret, no metadata XML blob). */
function audited(c: ConnectionView, issuer: string): Record<string, unknown> {
  const { idp_metadata_xml, ...rest } = connectionResponse(c, issuer);
  return idp_metadata_xml === undefined ? rest : { ...rest, idp_metadata_xml: '(set)' };
}

const requireObject = (body: unknown): Record<string, unknown> => {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body))
    throw new GatehouseError('invalid_request', 'request body must be a JSON object');
  return body as Record<string, unknown>;
};

/** /admin/connections: upstream identity providers (OIDC, OAuth 2.0, SAML) people sign in with. */
export function connectionsRoutes(r: Router, connections: Connections, issuer: string, audit?: AuditLog): void {
  r.post('/connections', async (ctx) => {
    const c = await connections.create(requireObject(ctx.request.body));
    ctx.state.log.info({ event: 'connection.created', connectionId: c.id }, 'connection created');
    recordAdminChange(audit, ctx, {
      type: 'connection.created',
      data: { connection_id: c.id, after: audited(c, issuer) },
    });
    ctx.status = 201;
    ctx.set('Location', `/admin/connections/${encodeURIComponent(c.id)}`);
    ctx.body = connectionResponse(c, issuer);
  });
  r.get('/connections', async (ctx) => {
    ctx.body = { items: (await connections.list()).map((c) => connectionResponse(c, issuer)) };
  });
  r.get('/connections/:id', async (ctx) => {
    ctx.body = connectionResponse(await connections.get(ctx.params.id!), issuer);
  });
  r.patch('/connections/:id', async (ctx) => {
    const patch = requireObject(ctx.request.body);
    parseBody(connectionPatchSchema, patch);
    const before = await connections.get(ctx.params.id!);
    const c = await connections.update(ctx.params.id!, patch);
    ctx.state.log.info({ event: 'connection.updated', connectionId: c.id }, 'connection updated');
    recordAdminChange(audit, ctx, {
      type: 'connection.updated',
      data: {
        connection_id: c.id,
        before: audited(before, issuer),
        after: audited(c, issuer),
        changed: Object.keys(patch),
        ...('client_secret' in patch ? { secret_changed: true } : {}),
      },
    });
    ctx.body = connectionResponse(c, issuer);
  });
  r.delete('/connections/:id', async (ctx) => {
    const before = await connections.get(ctx.params.id!);
    await connections.delete(ctx.params.id!);
    ctx.state.log.info({ event: 'connection.deleted', connectionId: before.id }, 'connection deleted');
    recordAdminChange(audit, ctx, {
      type: 'connection.deleted',
      data: { connection_id: before.id, before: audited(before, issuer) },
    });
    ctx.status = 204;
  });
}
