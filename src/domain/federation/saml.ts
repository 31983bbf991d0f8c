import type { Connection } from './connection.js';
import type { UpstreamProfile } from './upstream.js';

/**
 * The service-provider side of a SAML 2.0 connection, as the domain needs it: SP metadata, the
 * AuthnRequest, and the checked reading of a SAMLResponse. Implemented with samlify (and an XML
 * schema validator) in src/federation/saml-service-provider.ts; XML stays out of domain/.
 */
export type SamlConnection = Extract<Connection, { type: 'saml' }>;

/** The SP's own keys for one connection, sealed under the KEK as the connection's secret. */
export interface SamlSpKeys {
  /** PKCS#8 PEM: signs AuthnRequests. */
  signingKey: string;
  /** X.509 PEM (self-signed) published in the SP metadata for the signing key. */
  signingCert: string;
  /** PKCS#8 PEM: decrypts encrypted assertions. */
  encryptionKey: string;
  encryptionCert: string;
}

/** Where the SP lives for one connection (all under ISSUER). */
export interface SamlEndpoints {
  /** `${ISSUER}/saml/:slug` */
  entityId: string;
  /** `${ISSUER}/saml/:slug/acs` (HTTP-POST binding) */
  acsUrl: string;
  /** `${ISSUER}/saml/:slug/metadata` */
  metadataUrl: string;
}

/** A SAMLResponse whose every check passed. */
export interface SamlAssertion {
  /** The AuthnRequest ID it answers; absent for an unsolicited (IdP-initiated) response. */
  inResponseTo?: string;
  /** The assertion's ID: accepted once per connection until `notOnOrAfter`. */
  assertionId: string;
  notOnOrAfter: Date;
  /** subject is the NameID; emailVerified only when the connection trusts its IdP's emails. */
  profile: UpstreamProfile;
}

/** What the admin API needs to set a SAML connection up (Connections): keys, and a metadata check. */
export interface SamlConnectionSetup {
  /** Fresh SP keys (signing and encryption, each with a self-signed certificate) for a new connection. */
  generateKeys(commonName: string): Promise<SamlSpKeys>;
  /** Why this IdP metadata cannot be used (no SSO service, no signing certificate, not metadata), or undefined. */
  checkIdpMetadata(xml: string): Promise<string | undefined>;
}

export interface SamlServiceProvider extends SamlConnectionSetup {
  /** The SP metadata XML for this connection. */
  metadata(connection: SamlConnection, keys: SamlSpKeys, endpoints: SamlEndpoints): Promise<string>;
  /** An AuthnRequest over HTTP-Redirect (signed unless `sign_authn_requests` is off). */
  loginRequest(
    connection: SamlConnection,
    keys: SamlSpKeys,
    endpoints: SamlEndpoints,
    relayState: string,
  ): Promise<{ url: string; requestId: string }>;
  /**
   * The InResponseTo attribute of a SAMLResponse's root element, read from the raw XML with no
   * check at all: unverified, only a pre-filter so that a response nobody asked for is refused
   * before the expensive readResponse (schema validation). Undefined when the root has none.
   * UpstreamError `saml_malformed` when it is not base64 XML whose root is a Response, or has a DOCTYPE.
   */
  peekInResponseTo(samlResponse: string): string | undefined;
  /**
   * A SAMLResponse from the ACS POST, checked: schema, signature (only signed elements trusted),
   * Issuer, Destination, Recipient, Audience, NotBefore / NotOnOrAfter (≤ 120 s skew), status, no
   * DOCTYPE, no SHA-1 (`saml_weak_algorithm`). UpstreamError on any failure.
   */
  readResponse(
    connection: SamlConnection,
    keys: SamlSpKeys,
    endpoints: SamlEndpoints,
    samlResponse: string,
  ): Promise<SamlAssertion>;
}
