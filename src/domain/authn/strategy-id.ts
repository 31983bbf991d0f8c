/** A sign-in method's id: `password`, `totp`, `recovery_code`, `passkey`, `email_code` (emailed code or link); federation `oidc:<slug>`, `oauth2:<slug>`, `saml:<slug>` (a connection's type and slug). */
export type StrategyId =
  | 'password'
  | 'totp'
  | 'recovery_code'
  | 'passkey'
  | 'email_code'
  | `${'oidc' | 'oauth2' | 'saml'}:${string}`;
