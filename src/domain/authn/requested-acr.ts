/**
 * The `acr` values an authorization request asks for: `acr_values` (space-separated, in order of
 * preference) and, when the claims parameter is used, an essential `acr` ID token claim
 * (`value` or `values`). Malformed claims are ignored here; the provider rejects them itself.
 * Pure, over the request's parameters: the sign-in controller and the provider's step-up check
 * (oidc/acr-step-up.ts) read the request the same way.
 */
export function requestedAcr(params: Record<string, unknown>): string[] {
  const values = typeof params.acr_values === 'string' ? params.acr_values.split(' ').filter(Boolean) : [];
  if (typeof params.claims === 'string') {
    try {
      const claims = JSON.parse(params.claims) as { id_token?: { acr?: unknown } } | null;
      const acr = claims?.id_token?.acr as
        | { essential?: unknown; value?: unknown; values?: unknown }
        | null
        | undefined;
      // Only `essential: true` makes the claim a requirement; a voluntary acr claim asks for nothing.
      if (acr?.essential === true) {
        if (typeof acr.value === 'string') values.push(acr.value);
        if (Array.isArray(acr.values)) values.push(...acr.values.filter((v): v is string => typeof v === 'string'));
      }
    } catch {
      // not JSON: the provider answers invalid_request before any page is shown
    }
  }
  return values;
}
