import { GatehouseError } from '../errors.js';

/** The scopes OpenID Connect itself declares (what oidc-provider is configured with). */
export const OIDC_SCOPES: readonly string[] = ['openid', 'offline_access', 'email', 'profile'];

/**
 * A client may be registered only for scopes something declares: OpenID Connect or a registered
 * API (the built-in admin API included). A typo ("orders.read" for "orders:read") would
 * otherwise register silently and fail much later, at a token request, in someone else's logs.
 */
export async function checkRegisteredScope(
  scope: string | undefined,
  declaredByApis: () => Promise<Set<string>>,
): Promise<void> {
  const requested = scope?.split(' ').filter((s) => !OIDC_SCOPES.includes(s)) ?? [];
  if (!requested.length) return;
  const declared = await declaredByApis();
  const unknown = requested.filter((s) => !declared.has(s));
  if (unknown.length) {
    throw new GatehouseError(
      'invalid_client_metadata',
      `scope ${unknown.join(' ')} is declared by no API and is not an OpenID Connect scope; register the API first`,
    );
  }
}
