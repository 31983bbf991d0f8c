import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { timeRequest } from '../observability/request-timing.js';
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
  provider.use((ctx, next) =>
    timeRequest(
      next,
      () => ctx.status,
      (status, seconds) => {
        const c = ctx as unknown as KoaContextWithOIDC & { _matchedRouteName?: string };
        const route = c.oidc?.route ?? c._matchedRouteName ?? UNMATCHED_ROUTE;
        if (route === 'token' && status === 200) {
          const grantType = c.oidc?.params?.grant_type;
          if (typeof grantType === 'string') metrics.tokenIssued(grantType);
        }
        metrics.observeRequest('public', ctx.method, route, status, seconds);
      },
    ),
  );

  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: Error) => {
    if (
      err instanceof errors.InvalidGrant &&
      (err as { error_detail?: string }).error_detail === REFRESH_TOKEN_REUSED
    ) {
      metrics.refreshTokenReused();
    }
  });
}
