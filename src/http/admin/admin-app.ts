import Koa from 'koa';
import Router from '@koa/router';
import type { Clients } from '../../domain/clients/clients.js';
import type { Users } from '../../domain/accounts/users.js';
import type { Resources } from '../../domain/resources/resources.js';
import type { Logger } from '../../observability/logger.js';
import { jsonBody } from '../middleware/body-parsers.js';
import { jsonErrors } from '../middleware/error-handler.js';
import { requestContext } from '../middleware/request-context.js';
import { adminAuth } from './admin-auth.js';
import { rejectNulInUrl } from './validate.js';
import { clientsRoutes } from './routes/clients-routes.js';
import { resourcesRoutes } from './routes/resources-routes.js';
import { usersRoutes } from './routes/users-routes.js';

/** RFC 7591-sized bodies are small; 1 MiB leaves room for inline JWKS. */
const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AdminAppDeps {
  adminKey: string;
  clients: Clients;
  users: Users;
  resources: Resources;
  logger: Logger;
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

  clientsRoutes(r, deps.clients);
  usersRoutes(r, deps.users);
  resourcesRoutes(r, deps.resources);

  app.use(r.routes());
  app.use(r.allowedMethods({ throw: true }));
  return app;
}
