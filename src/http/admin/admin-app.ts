import Koa from 'koa';
import Router from '@koa/router';
import { z } from 'zod';
import type { Clients } from '../../domain/clients/clients.js';
import { clientMetadataSchema } from '../../domain/clients/client-metadata.js';
import type { Users } from '../../domain/accounts/users.js';
import { publicUser } from '../../domain/accounts/user.js';
import { resourceInputSchema, resourcePatchSchema, type Resources } from '../../domain/resources/resources.js';
import type { Logger } from '../../observability/logger.js';
import { jsonBody } from '../middleware/body-parsers.js';
import { jsonErrors } from '../middleware/error-handler.js';
import { requestContext } from '../middleware/request-context.js';
import { adminAuth } from './admin-auth.js';
import { pageParams, parseBody, rejectNulInUrl } from './validate.js';

/** RFC 7591-sized bodies are small; 1 MiB leaves room for inline JWKS. */
const BODY_LIMIT_BYTES = 1024 * 1024;

const emailSchema = z.string().trim().max(320).regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');
const createUserSchema = z.object({
  email: emailSchema,
  password: z.string().max(4096).optional(),
  name: z.string().max(200).nullable().optional(),
  email_verified: z.boolean().optional(),
}).strict();
const updateUserSchema = z.object({
  email: emailSchema.optional(),
  password: z.string().max(4096).optional(),
  name: z.string().max(200).nullable().optional(),
  email_verified: z.boolean().optional(),
  disabled: z.boolean().optional(),
}).strict();

export interface AdminAppDeps {
  adminKey: string;
  clients: Clients;
  users: Users;
  resources: Resources;
  logger: Logger;
}

function clientResponse(client: object, clientSecret?: string) {
  return { ...client, ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}) };
}

/** The admin port: JSON only, bearer-key auth, never the provider. */
export function createAdminApp(deps: AdminAppDeps): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(deps.logger));
  app.use(async (ctx, next) => {
    await next();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
  });
  app.use(jsonErrors);
  app.use(adminAuth(deps.adminKey));
  app.use(rejectNulInUrl);
  app.use(jsonBody(BODY_LIMIT_BYTES));

  const r = new Router({ prefix: '/admin' });
  const { clients, users, resources } = deps;

  r.post('/clients', async (ctx) => {
    const input = parseBody(clientMetadataSchema, ctx.request.body, 'invalid_client_metadata');
    const { client, clientSecret } = await clients.create(input);
    ctx.state.log.info({ event: 'client.created', clientId: client.client_id }, 'client created');
    ctx.status = 201;
    ctx.set('Location', `/admin/clients/${encodeURIComponent(client.client_id)}`);
    ctx.body = clientResponse(client, clientSecret);
  });
  r.get('/clients', async (ctx) => {
    const page = pageParams(ctx.query);
    const items = await clients.list(page);
    ctx.body = { items, next_cursor: items.length === page.limit ? items.at(-1)!.client_id : null };
  });
  r.get('/clients/:id', async (ctx) => { ctx.body = await clients.get(ctx.params.id!); });
  r.patch('/clients/:id', async (ctx) => {
    const input = parseBody(clientMetadataSchema.partial(), ctx.request.body, 'invalid_client_metadata');
    const { client, clientSecret } = await clients.update(ctx.params.id!, input);
    ctx.state.log.info({ event: 'client.updated', clientId: client.client_id }, 'client updated');
    ctx.body = clientResponse(client, clientSecret);
  });
  r.delete('/clients/:id', async (ctx) => {
    await clients.delete(ctx.params.id!);
    ctx.state.log.info({ event: 'client.deleted', clientId: ctx.params.id }, 'client deleted');
    ctx.status = 204;
  });

  r.post('/users', async (ctx) => {
    const input = parseBody(createUserSchema, ctx.request.body);
    const user = await users.create({ email: input.email, password: input.password, name: input.name, emailVerified: input.email_verified });
    ctx.state.log.info({ event: 'user.created', userId: user.id }, 'user created');
    ctx.status = 201;
    ctx.set('Location', `/admin/users/${user.id}`);
    ctx.body = publicUser(user);
  });
  r.get('/users', async (ctx) => {
    const page = pageParams(ctx.query);
    const items = (await users.list(page)).map(publicUser);
    ctx.body = { items, next_cursor: items.length === page.limit ? items.at(-1)!.id : null };
  });
  r.get('/users/:id', async (ctx) => { ctx.body = publicUser(await users.get(ctx.params.id!)); });
  r.patch('/users/:id', async (ctx) => {
    const input = parseBody(updateUserSchema, ctx.request.body);
    const user = await users.update(ctx.params.id!, {
      email: input.email, password: input.password, name: input.name, emailVerified: input.email_verified, disabled: input.disabled,
    });
    ctx.state.log.info({ event: 'user.updated', userId: user.id, fields: Object.keys(input).filter((k) => k !== 'password') }, 'user updated');
    ctx.body = publicUser(user);
  });
  r.delete('/users/:id', async (ctx) => {
    await users.delete(ctx.params.id!);
    ctx.state.log.info({ event: 'user.deleted', userId: ctx.params.id }, 'user deleted');
    ctx.status = 204;
  });

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

  app.use(r.routes());
  app.use(r.allowedMethods({ throw: true }));
  return app;
}
