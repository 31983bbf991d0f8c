import Koa from 'koa';
import Router from '@koa/router';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';
import type { Logger } from '../../observability/logger.js';
import { runHealthChecks, type HealthCheck } from '../../observability/health.js';
import { requestContext } from '../middleware/request-context.js';
import { securityHeaders } from '../middleware/security-headers.js';
import type { Views } from '../views.js';
import { interactionErrors, interactionRoutes, type InteractionDeps } from './interactions/interaction-routes.js';

export interface PublicAppDeps extends InteractionDeps {
  provider: Provider;
  logger: Logger;
  views: Views;
  healthChecks: HealthCheck[];
  trustProxy: boolean;
}

/**
 * The public port: health probes, our interaction pages, and oidc-provider for everything else.
 * The admin API is never mounted here.
 */
export function createPublicApp(deps: PublicAppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy });
  app.silent = true;
  app.use(requestContext(deps.logger));

  const probes = new Router();
  probes.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  probes.get('/readyz', async (ctx) => {
    const report = await runHealthChecks(deps.healthChecks);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = report.ready ? 200 : 503;
    ctx.body = { status: report.ready ? 'ready' : 'not_ready', checks: report.checks };
  });
  app.use(probes.routes());

  const interactions = compose([securityHeaders, interactionErrors(deps.views), interactionRoutes(deps).routes()] as Koa.Middleware[]);
  app.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    await interactions(ctx, next);
  });

  const handleProtocol = deps.provider.callback();
  app.use(async (ctx) => {
    // oidc-provider builds its URLs from originalUrl; hand it the raw request.
    (ctx.req as unknown as { originalUrl: string }).originalUrl = ctx.originalUrl;
    ctx.respond = false;
    await handleProtocol(ctx.req, ctx.res);
  });
  return app;
}
