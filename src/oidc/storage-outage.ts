import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { StorageUnavailable, UNAVAILABLE_BODY, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../domain/errors.js';

export { UNAVAILABLE_BODY };

const FLAG = 'gatehouseStorageUnavailable';
const RETRY_AFTER_SECONDS = String(UNAVAILABLE_RETRY_AFTER_SECONDS);

/** The fail-closed answer, for middleware that finishes a request after oidc-provider answered it. */
export function answerUnavailable(ctx: {
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}): void {
  ctx.status = 503;
  ctx.set('Retry-After', RETRY_AFTER_SECONDS);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { ...UNAVAILABLE_BODY };
}

/**
 * A store that cannot be reached (PostgreSQL, Redis, the pool) fails the request closed with
 * 503 `temporarily_unavailable` and a generic body, instead of oidc-provider's 500
 * `server_error`: nothing is issued or accepted without the check the store provides, and the
 * client knows it may retry. oidc-provider reports every 5xx through `server_error` before it
 * answers; that event marks the request, and this middleware rewrites the answer on the way out.
 */
export function failClosedOnStorageOutage(provider: Provider): void {
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
    if (err instanceof StorageUnavailable) (ctx.state as Record<string, unknown>)[FLAG] = true;
  });
  provider.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      // Thrown past oidc-provider's own error handling (the resume endpoint): Koa would answer a plain 500.
      if (!(err instanceof StorageUnavailable)) throw err;
      (ctx.state as Record<string, unknown>)[FLAG] = true;
      ctx.status = 503;
      ctx.body = { ...UNAVAILABLE_BODY };
    }
    if (!(ctx.state as Record<string, unknown>)[FLAG]) return;
    const location = ctx.response.get('location');
    const redirectedError =
      location && ctx.status >= 300 && ctx.status < 400 && /[?#&]error=server_error/.test(location);
    // Only a failed answer: a request that recovered from an outage error on the way keeps its 2xx.
    if (ctx.status < 500 && !redirectedError) return;
    ctx.set('Retry-After', RETRY_AFTER_SECONDS);
    ctx.set('Cache-Control', 'no-store');
    if (redirectedError) {
      // An authorization error sent back to the client in the query (RFC 6749 §4.1.2.1; fragments are refused).
      const url = new URL(location);
      url.searchParams.set('error', UNAVAILABLE_BODY.error);
      url.searchParams.set('error_description', UNAVAILABLE_BODY.error_description);
      ctx.redirect(url.toString());
      return;
    }
    ctx.status = 503;
    if (ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)) ctx.body = { ...UNAVAILABLE_BODY };
  });
}
