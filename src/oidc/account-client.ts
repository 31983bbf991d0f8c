import type { ClientMetadata } from 'oidc-provider';

/**
 * The account page (`/account`) signs people in like any application does: through the
 * provider, as this built-in public client. So the sign-in pages, the MFA policy and the session
 * are the same ones every relying party gets, and the page itself never handles a password.
 * It is a static client (not in the clients table, not editable through the admin API), first
 * party (no consent page), and it can only send the browser back to `${ISSUER}/account/callback`.
 */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';

/** Where the provider sends the browser after the account page's sign-in. */
export const accountCallbackUrl = (issuer: string) => `${issuer}/account/callback`;

export function accountClientMetadata(issuer: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    // Reads as "Sign in to your account" and "Back to your account" on the shared pages.
    client_name: 'your account',
    client_uri: `${issuer}/account`,
    redirect_uris: [accountCallbackUrl(issuer)],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
    first_party: true,
  };
}
