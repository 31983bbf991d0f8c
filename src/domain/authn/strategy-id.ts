/** A sign-in method's id: `password`, `totp`, `recovery_code`, `passkey`, `email_code` (emailed code or link); later `oidc:<slug>`, `saml:<slug>`. */
export type StrategyId =
  | 'password'
  | 'totp'
  | 'recovery_code'
  | 'passkey'
  | 'email_code'
  | `${'oidc' | 'saml'}:${string}`;
