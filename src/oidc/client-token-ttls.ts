/**
 * Per-client token lifetimes (`access_token_ttl_seconds`, `refresh_token_ttl_seconds` in the
 * client's metadata). oidc-provider hands its ttl functions the client; these read the settings
 * off it and fall back to the deployment defaults.
 */

type ClientLike = { access_token_ttl_seconds?: unknown; refresh_token_ttl_seconds?: unknown } | undefined;

const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/** The client's access-token lifetime, or the deployment default. */
export function clientAccessTokenTtl(client: unknown, fallbackSeconds: number): number {
  return positiveInt((client as ClientLike)?.access_token_ttl_seconds) ?? fallbackSeconds;
}

/**
 * For a token for a registered API: when both the API and the client set a lifetime the
 * shorter wins (each owner limits how long a token may outlive a revocation); else whichever is set.
 */
export function resourceAccessTokenTtl(
  resourceTtl: number | null | undefined,
  client: unknown,
  fallbackSeconds: number,
): number {
  const clientTtl = positiveInt((client as ClientLike)?.access_token_ttl_seconds);
  if (resourceTtl && clientTtl) return Math.min(resourceTtl, clientTtl);
  return resourceTtl ?? clientTtl ?? fallbackSeconds;
}

/** Each refresh token: the deployment's sliding lifetime, shortened by the client's cap, within the chain's remaining absolute lifetime. */
export function refreshTokenTtl(client: unknown, deploymentSeconds: number, remainingAbsoluteSeconds: number): number {
  const cap = positiveInt((client as ClientLike)?.refresh_token_ttl_seconds) ?? deploymentSeconds;
  return Math.max(1, Math.min(deploymentSeconds, cap, remainingAbsoluteSeconds));
}
