/**
 * Who may introspect a token (RFC 7662), oidc-provider's `features.introspection.allowedPolicy`.
 *
 * The client the token was issued to may always see it. Besides, an API's resource servers —
 * the client ids in its `introspection_clients` (admin API) — may see the access tokens whose
 * audience is that API: that is RFC 7662's ordinary deployment, where the API is not the app.
 * Refresh tokens and audience-less access tokens stay visible to their owner only; revocation is
 * not affected (owner only, see provider.ts).
 */
interface ApiLookup {
  /** The registered API for an indicator (cached for a few seconds, see Resources.lookup). */
  lookup(indicator: string): Promise<{ introspection_clients?: string[] } | undefined>;
}

interface TokenLike {
  clientId?: string;
  kind: string;
  aud?: string | string[];
}

/** Kinds a resource server receives; a refresh token is for its owner alone. */
const ACCESS_TOKEN_KINDS = new Set(['AccessToken', 'ClientCredentials']);

export function introspectionAllowedPolicy(apis: ApiLookup) {
  return async function allowed(_ctx: unknown, client: { clientId: string }, token: TokenLike): Promise<boolean> {
    if (token.clientId === client.clientId) return true;
    if (!ACCESS_TOKEN_KINDS.has(token.kind) || !token.aud) return false;
    const audiences = Array.isArray(token.aud) ? token.aud : [token.aud];
    for (const audience of audiences) {
      const api = await apis.lookup(audience);
      if (api?.introspection_clients?.includes(client.clientId)) return true;
    }
    return false;
  };
}
