/** The scopes oidc-provider itself knows (OpenID Connect); everything else is an API (resource) scope. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'email', 'profile'];

/**
 * What oidc-provider sees of a stored client. Its `scope` check only knows OpenID scopes, so API
 * scopes are moved to `registered_scope`, which resource-indicator handling intersects with each
 * API's scopes. A pure mapping of client metadata, here so that both the clients adapter (storage)
 * and the metadata validator (oidc) can use it without one importing the other's internals.
 */
export function toProviderClientMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const { scope, ...rest } = metadata;
  if (typeof scope !== 'string') return rest;
  const oidc = scope.split(' ').filter((s) => OIDC_SCOPES.includes(s));
  return { ...rest, registered_scope: scope, ...(oidc.length ? { scope: oidc.join(' ') } : {}) };
}
