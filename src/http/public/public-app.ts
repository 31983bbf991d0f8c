import Koa from 'koa';
import Router from '@koa/router';
import compose from 'koa-compose';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveProvider } from '../../oidc/live-provider.js';
import type { Logger } from '../../observability/logger.js';
import { runHealthChecks, type HealthCheck } from '../../observability/health.js';
import type { Metrics } from '../../observability/metrics.js';
import { httpMetrics } from '../middleware/http-metrics.js';
import { assignRequestId, requestContext } from '../middleware/request-context.js';
import { securityHeaders, setProtocolSecurityHeaders } from '../middleware/security-headers.js';
import type { Views } from '../views.js';
import { TrustedProxies } from '../middleware/client-address.js';
import { pinRequestToIssuer } from './host-pinning.js';
import { interactionErrors, interactionRoutes, type InteractionDeps } from './interactions/interaction-routes.js';
import { type AccountDeps, accountRoutes } from './account/account-routes.js';
import { EMAIL_PAGE_PATHS, type EmailPagesDeps, emailRoutes } from './email/email-routes.js';
import { servedByProvider } from './canonical-paths.js';
import { landingPage } from './landing-page.js';
import { notFound } from './not-found.js';
import { postToGet } from './post-to-get.js';
import { earlySignInThrottle } from './early-sign-in-throttle.js';
import { staticAssets } from './static-assets.js';
import { FEDERATION_PATHS, federationRoutes } from './federation/federation-routes.js';

export interface PublicAppDeps
  extends InteractionDeps,
    Omit<EmailPagesDeps, 'views' | 'users' | 'events' | 'csrf' | 'issuer'>,
    Pick<
      AccountDeps,
      | 'accountSessions'
      | 'userSessions'
      | 'clientName'
      | 'now'
      | 'mailer'
      | 'emailTokens'
      | 'sendLimiter'
      | 'linkedIdentities'
    > {
  providers: LiveProvider;
  /** Cache-Control max-age of /jwks (relying parties' key-set caches; key rotation waits this long). */
  jwksMaxAgeSeconds: number;
  /** The provider's JWKS route. */
  jwksPath: string;
  logger: Logger;
  views: Views;
  healthChecks: HealthCheck[];
  /** The public base URL: the only origin any response is built for (host-pinning.ts). */
  issuer: string;
  /** TRUSTED_PROXIES: peers whose X-Forwarded-For is believed. */
  trustedProxies: readonly string[];
  /** Cache-Control max-age of discovery. */
  discoveryMaxAgeSeconds: number;
  /** Request metrics for our pages and probes (protocol requests are counted inside the provider). */
  metrics?: Metrics;
}

/**
 * The public port: health probes, our interaction pages, and oidc-provider for everything else.
 * The admin API is never mounted here. Serve it only through createPublicHandler: it reads the
 * X-Forwarded-* headers that pinRequestToIssuer wrote (client address, issuer host and scheme).
 */
export function createPublicApp(deps: PublicAppDeps): Koa {
  const app = new Koa({ proxy: true, maxIpsCount: 1 });
  app.silent = true;
  app.use(requestContext(deps.logger));
  if (deps.metrics) app.use(httpMetrics(deps.metrics, 'public'));

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

  const interactions = compose([
    securityHeaders,
    interactionErrors(deps.views),
    interactionRoutes(deps).routes(),
  ] as Koa.Middleware[]);
  app.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    await interactions(ctx, next);
  });
  // The account page (`/account`, `/account/…`).
  const account = compose([
    securityHeaders,
    interactionErrors(deps.views),
    accountRoutes(deps).routes(),
  ] as Koa.Middleware[]);
  app.use(async (ctx, next) => {
    if (ctx.path !== '/account' && !ctx.path.startsWith('/account/')) return next();
    await account(ctx, next);
  });
  // Pages reached from links in emails (verify, reset, sign-in link) and the forms that send them.
  const emailPages = compose([
    securityHeaders,
    interactionErrors(deps.views),
    emailRoutes(deps).routes(),
  ] as Koa.Middleware[]);
  app.use(async (ctx, next) => {
    if (!EMAIL_PAGE_PATHS.test(ctx.path)) return next();
    await emailPages(ctx, next);
  });
  // Upstream sign-in callbacks (/federation/:slug/callback).
  const federationPages = compose([
    securityHeaders,
    interactionErrors(deps.views),
    federationRoutes(deps).routes(),
  ] as Koa.Middleware[]);
  app.use(async (ctx, next) => {
    if (!FEDERATION_PATHS.test(ctx.path)) return next();
    await federationPages(ctx, next);
  });
  // Whatever the provider does not serve: `/`, /assets/ scripts, POST /authorize and /logout (303 to GET), 404/405 pages.
  app.use(
    compose([
      securityHeaders,
      interactionErrors(deps.views),
      landingPage(deps.views, { discovery: '/.well-known/openid-configuration', jwks: deps.jwksPath }),
      staticAssets(),
      postToGet(),
      notFound(deps.views),
    ] as Koa.Middleware[]),
  );

  return app;
}

const DISCOVERY_PATH = '/.well-known/openid-configuration';

const OUR_PATHS = /^\/(interaction\/|federation\/|saml\/|assets\/|healthz(\?|$)|readyz(\?|$))/;

/**
 * The public port's request listener: our pages and probes go to our Koa app, every protocol
 * request straight to oidc-provider (its own Koa app) — no second Koa context on the hot path.
 * Only an exactly spelled protocol route reaches the provider (canonical-paths.ts); `/Token`,
 * `/token/` and unknown paths get our 404.
 * Protocol requests still get a request id (X-Request-Id) and, at debug level, an access line.
 */
export function createPublicHandler(deps: PublicAppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const ours = createPublicApp(deps).callback();
  const { providers } = deps;
  const cacheControl = (maxAge: number) => (maxAge > 0 ? `public, max-age=${maxAge}` : 'no-cache');
  const jwksCacheControl = cacheControl(deps.jwksMaxAgeSeconds);
  const discoveryCacheControl = cacheControl(deps.discoveryMaxAgeSeconds);
  const debug = deps.logger.isLevelEnabled('debug');
  const pin = pinRequestToIssuer(deps.issuer, new TrustedProxies(deps.trustedProxies));
  const early = deps.signInThrottle
    ? earlySignInThrottle(deps.signInThrottle, deps.views, {
        firstRefusal: (ip) =>
          deps.events.emit({ type: 'login.failed', method: 'password', reason: 'rate_limited' }, { ip }),
        refusedAgain: () => deps.metrics?.loginFailed('rate_limited'),
      })
    : undefined;
  return (req, res) => {
    pin(req);
    if (OUR_PATHS.test(req.url ?? '/') || !servedByProvider(req.method, req.url)) {
      if (early && req.method === 'POST') {
        // pinRequestToIssuer wrote the one client address into X-Forwarded-For.
        void early(req, res, String(req.headers['x-forwarded-for'] ?? '')).then((answered) => {
          if (!answered) void ours(req, res);
        });
        return;
      }
      void ours(req, res);
      return;
    }
    const requestId = assignRequestId(req, res);
    // oidc-provider builds its URLs from originalUrl.
    (req as unknown as { originalUrl?: string }).originalUrl = req.url;
    if (debug) {
      const started = process.hrtime.bigint();
      res.once('finish', () =>
        deps.logger.debug(
          {
            requestId,
            method: req.method,
            path: req.url?.split('?')[0],
            status: res.statusCode,
            ms: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10,
          },
          'request',
        ),
      );
    }
    const path = req.url?.split('?')[0];
    if (path === deps.jwksPath) res.setHeader('Cache-Control', jwksCacheControl);
    else if (path === DISCOVERY_PATH) res.setHeader('Cache-Control', discoveryCacheControl);
    setProtocolSecurityHeaders(res);
    // Read per request: a key change swaps in a new provider between requests.
    void providers.listener(req, res);
  };
}
