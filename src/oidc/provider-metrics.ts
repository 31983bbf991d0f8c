import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Metrics } from '../observability/metrics.js';
import { REFRESH_TOKEN_REUSED } from './refresh-reuse.js';

/** The label for a protocol request that matched none of the provider's routes. */
const UNMATCHED_ROUTE = 'unmatched';

/**
 * Protocol metrics: request count and latency labelled by the provider's route *name*
 * (`token`, `authorization`, `discovery` …), tokens issued by grant type, refresh token reuse.
 * Installed first, so the latency covers every other provider middleware.
 *
 * Tokens are counted from the final status of the token response, not from `grant.success`:
 * a rotation that loses a concurrent race is turned into `invalid_grant` by the token request
 * scope (token-request-scope.ts) after `grant.success` has fired.
 */
export function providerMetrics(provider: Provider, metrics: Metrics): void {
  // timeRequest (request-timing.ts) written out: no closures per request on every protocol request.
  provider.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = (err as { status?: number }).status ?? 500;
      throw err;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const c = ctx as unknown as KoaContextWithOIDC & { _matchedRouteName?: string };
      const route = c.oidc?.route ?? c._matchedRouteName ?? UNMATCHED_ROUTE;
      if (route === 'token' && status === 200) {
        const grantType = c.oidc?.params?.grant_type;
        if (typeof grantType === 'string') metrics.tokenIssued(grantType);
      }
      metrics.observeRequest('public', ctx.method, route, status, seconds);
    }
  });

  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: Error) => {
    if (
      err instanceof errors.InvalidGrant &&
      (err as { error_detail?: string }).error_detail === REFRESH_TOKEN_REUSED
    ) {
      metrics.refreshTokenReused();
    }
  });
}
