import type { Context, Next } from 'koa';
import type { Metrics, MetricsPort } from '../../observability/metrics.js';
import { timeRequest } from '../../observability/request-timing.js';

/** The label for a request no route matched: raw paths are unbounded, so they never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Request count and latency, labelled by the router *pattern* that matched (`/admin/users/:id`),
 * never the URL. Sits outside the error mapper so the status is the one the client gets.
 */
export function httpMetrics(metrics: Metrics, port: MetricsPort) {
  return async function observeRequest(ctx: Context, next: Next): Promise<void> {
    await timeRequest(
      next,
      () => ctx.status,
      (status, seconds) => {
        const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
        metrics.observeRequest(port, ctx.method, typeof route === 'string' ? route : UNMATCHED_ROUTE, status, seconds);
      },
    );
  };
}

/** `GET /metrics`: the Prometheus text exposition. Served without the admin key (operator network). */
export function metricsEndpoint(metrics: Metrics) {
  return async function serveMetrics(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/metrics' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const { contentType, body } = await metrics.render();
    ctx.body = body;
    ctx.set('Content-Type', contentType);
    (ctx as { _matchedRoute?: string })._matchedRoute = '/metrics';
  };
}
