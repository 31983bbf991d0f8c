import type Provider from 'oidc-provider';

/**
 * Every ID token carries `sid` (OIDC Front-/Back-Channel Logout §2.1; listed in claims_supported).
 * oidc-provider adds it only for clients registered for back-channel logout with
 * `backchannel_logout_session_required` (or asking for `sid` via the claims parameter).
 * The value is the session's per-client id (`session.sidFor(clientId)`): stable for that
 * browser session and client, kept through refreshes, and what logout compares an
 * `id_token_hint` with (logout-confirmation.ts).
 */
export function includeSidInIdTokens(provider: Provider): void {
  const Client = provider.Client as unknown as { prototype: { includeSid(): boolean } };
  Client.prototype.includeSid = function includeSid() {
    return true;
  };
}
