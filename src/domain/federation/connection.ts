/**
 * Upstream identity providers people sign in with ("Continue with <name>"), configured on the
 * admin port. One row per connection; secrets are sealed under the KEK and never returned.
 */
export type ConnectionType = 'oidc' | 'oauth2' | 'saml';

/** What happens when an upstream identity's email already belongs to a local account. */
export type LinkExisting = 'prompt' | 'off';

/** Claim names to read the profile from (defaults: `email`, `name`, `email_verified`). */
export interface ClaimMapping {
  email?: string;
  name?: string;
  email_verified?: string;
}

/** Settings of an OpenID Connect upstream (discovery from `issuer`). */
export interface OidcSettings {
  issuer: string;
  client_id: string;
  /** @default ['openid', 'email', 'profile'] */
  scopes: string[];
  claims?: ClaimMapping;
  preset?: 'google' | 'microsoft' | 'apple' | 'gitlab';
  /** Preset `apple`: the Apple Developer team ID (10 characters), `iss` of the client-secret JWT. */
  apple_team_id?: string;
  /** Preset `apple`: the ID of the Sign in with Apple key (10 characters), `kid` of the client-secret JWT. */
  apple_key_id?: string;
}

/** Settings of a plain OAuth 2.0 upstream (no OIDC, e.g. GitHub). */
export interface OAuth2Settings {
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  client_id: string;
  scopes: string[];
  claims?: ClaimMapping & { subject?: string };
  preset?: 'github';
}

/** Settings of a SAML 2.0 upstream (the IdP). */
export interface SamlSettings {
  idp_metadata_xml?: string;
  idp_metadata_url?: string;
  attribute_mapping?: { email?: string; name?: string };
  email_verified: boolean;
  sign_authn_requests: boolean;
  want_assertions_signed: boolean;
  allow_idp_initiated: boolean;
}

interface ConnectionCommon {
  id: string;
  slug: string;
  /** The button text: "Continue with <name>". */
  name: string;
  enabled: boolean;
  /** Email domains routed to this connection (home-realm discovery), lower-case. */
  domains: string[];
  /** Password and email sign-in are refused for `domains`. */
  enforceSso: boolean;
  /** Create a local account on first sign-in. */
  jit: boolean;
  linkExisting: LinkExisting;
  /** The upstream's assertion of MFA counts as a second factor here. */
  trustedMfa: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type Connection = ConnectionCommon &
  (
    | { type: 'oidc'; settings: OidcSettings }
    | { type: 'oauth2'; settings: OAuth2Settings }
    | { type: 'saml'; settings: SamlSettings }
  );

/** A connection as stored: its secret (client secret, private key material) still sealed. */
export type StoredConnection = Connection & { secretSealed: string | null };

export type NewConnection = Omit<StoredConnection, 'createdAt' | 'updatedAt'>;

/** Storage port for connections (storage/repositories/connections-repository.ts). */
export interface ConnectionRepository {
  insert(connection: NewConnection): Promise<StoredConnection>;
  findById(id: string): Promise<StoredConnection | undefined>;
  findBySlug(slug: string): Promise<StoredConnection | undefined>;
  list(): Promise<StoredConnection[]>;
  /** Replaces every field but id and created_at; undefined when it does not exist. */
  update(connection: NewConnection): Promise<StoredConnection | undefined>;
  delete(id: string): Promise<boolean>;
}

/** Associated data of a connection's sealed secret: a ciphertext cannot move to another connection. */
export const connectionSecretContext = (connectionId: string) => `connection-secret:${connectionId}`;
