import type Router from '@koa/router';
import { resourceInputSchema, resourcePatchSchema, type Resources } from '../../../domain/resources/resources.js';
import { parseBody } from '../validate.js';

/** /admin/resources: APIs (RFC 8707 resource indicators) that receive JWT access tokens. */
export function resourcesRoutes(r: Router, resources: Resources): void {
  r.post('/resources', async (ctx) => {
    const input = parseBody(resourceInputSchema, ctx.request.body);
    ctx.status = 201;
    ctx.body = await resources.create(input);
  });
  r.get('/resources', async (ctx) => { ctx.body = { items: await resources.list() }; });
  r.get('/resources/:indicator', async (ctx) => { ctx.body = await resources.get(ctx.params.indicator!); });
  r.patch('/resources/:indicator', async (ctx) => {
    ctx.body = await resources.update(ctx.params.indicator!, parseBody(resourcePatchSchema, ctx.request.body));
  });
  r.delete('/resources/:indicator', async (ctx) => {
    await resources.delete(ctx.params.indicator!);
    ctx.status = 204;
  });
}
