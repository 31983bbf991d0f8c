import type Router from '@koa/router';
import { resourceInputSchema, resourcePatchSchema, type Resources } from '../../../domain/resources/resources.js';
import type { AuditLog } from '../../../domain/audit/audit-log.js';
import { recordAdminChange } from '../admin-audit.js';
import { parseBody } from '../validate.js';

/** /admin/resources: APIs (RFC 8707 resource indicators) that receive JWT access tokens. */
export function resourcesRoutes(r: Router, resources: Resources, audit?: AuditLog): void {
  r.post('/resources', async (ctx) => {
    // The built-in admin API answers 409 (as for any existing indicator), not a schema error.
    const indicator = (ctx.request.body as { indicator?: unknown } | undefined)?.indicator;
    if (typeof indicator === 'string') resources.refuseIfBuiltIn(indicator);
    const input = parseBody(resourceInputSchema, ctx.request.body);
    const created = await resources.create(input);
    recordAdminChange(audit, ctx, { type: 'resource.created', data: { indicator: created.indicator, after: created } });
    ctx.status = 201;
    ctx.body = created;
  });
  r.get('/resources', async (ctx) => {
    ctx.body = { items: await resources.listAll() };
  });
  r.get('/resources/:indicator', async (ctx) => {
    ctx.body = await resources.describe(ctx.params.indicator!);
  });
  r.patch('/resources/:indicator', async (ctx) => {
    resources.refuseIfBuiltIn(ctx.params.indicator!);
    const changes = parseBody(resourcePatchSchema, ctx.request.body);
    const before = await resources.get(ctx.params.indicator!);
    const after = await resources.update(ctx.params.indicator!, changes);
    recordAdminChange(audit, ctx, {
      type: 'resource.updated',
      data: { indicator: after.indicator, before, after, changed: Object.keys(changes) },
    });
    ctx.body = after;
  });
  r.delete('/resources/:indicator', async (ctx) => {
    resources.refuseIfBuiltIn(ctx.params.indicator!);
    const before = await resources.get(ctx.params.indicator!);
    await resources.delete(ctx.params.indicator!);
    recordAdminChange(audit, ctx, { type: 'resource.deleted', data: { indicator: before.indicator, before } });
    ctx.status = 204;
  });
}
