import { randomBytes, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import samlify from 'samlify';
import { SAML_SKEW_SECONDS } from '../domain/federation/federated-sign-in.js';
import type {
  SamlAssertion,
  SamlConnection,
  SamlEndpoints,
  SamlServiceProvider,
  SamlSpKeys,
} from '../domain/federation/saml.js';
import { UpstreamError } from '../domain/federation/upstream.js';
import { IdpMetadataSource, type MetadataWarn } from './saml-idp-metadata.js';
import { generateSamlSpKeys, readableCertificate } from './saml-keys.js';
import { decodeResponse, peekInResponseTo, RESPONSE_ROOT } from './saml-raw-response.js';
import { readAssertion, refuseWeakAlgorithms } from './saml-response.js';
import { SchemaInvalid, validateSamlXml } from './saml-schema.js';

const { IdentityProvider, ServiceProvider, SamlLib, setSchemaValidator } = samlify;

// samlify refuses to parse anything without a schema validator; ours is xmllint (WebAssembly).
setSchemaValidator({ validate: validateSamlXml });

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
];
const xmlEscape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

type IdpEntity = ReturnType<typeof IdentityProvider>;

/** The parsed IdP metadata: entity ID, SSO (HTTP-Redirect) URL, whether it has a signing certificate. */
function idpFrom(xml: string): IdpEntity {
  return IdentityProvider({ metadata: xml });
}

/** Why this IdP metadata cannot be used, or undefined (admin API validation). */
export function idpMetadataProblem(xml: string): string | undefined {
  let idp: IdpEntity;
  try {
    idp = idpFrom(xml);
  } catch {
    return 'must be SAML IdP metadata (an EntityDescriptor with an IDPSSODescriptor)';
  }
  const meta = idp.entityMeta;
  if (!meta.getEntityID()) return 'the EntityDescriptor has no entityID';
  if (typeof meta.getSingleSignOnService('redirect') !== 'string')
    return 'no SingleSignOnService with the HTTP-Redirect binding';
  const certs = [meta.getX509Certificate('signing')].flat(3).filter(Boolean);
  if (certs.length === 0) return 'no signing certificate (KeyDescriptor use="signing")';
  return undefined;
}

export interface SamlServiceProviderOptions {
  now?: () => number;
  warn?: MetadataWarn;
  fetch?: typeof fetch;
}

/**
 * Gatehouse as a SAML 2.0 service provider, with samlify (metadata, signature verification through
 * xml-crypto, decryption) and our own checks on top (saml-response.ts): samlify's
 * `parseLoginResponse` is not used, only its signature verification and decryption primitives, so
 * every value is read from the element the IdP's signature covers.
 */
export class SamlifyServiceProvider implements SamlServiceProvider {
  readonly #metadata: IdpMetadataSource;
  readonly #now: () => number;

  constructor(options: SamlServiceProviderOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#metadata = new IdpMetadataSource(this.#now, options.warn, options.fetch);
  }

  generateKeys(commonName: string): Promise<SamlSpKeys> {
    return generateSamlSpKeys(commonName);
  }

  async checkIdpMetadata(xml: string): Promise<string | undefined> {
    return idpMetadataProblem(xml);
  }

  peekInResponseTo(samlResponse: string): string | undefined {
    return peekInResponseTo(samlResponse);
  }

  private sp(c: SamlConnection, keys: SamlSpKeys, endpoints: SamlEndpoints) {
    return ServiceProvider({
      entityID: endpoints.entityId,
      authnRequestsSigned: c.settings.sign_authn_requests,
      wantAssertionsSigned: c.settings.want_assertions_signed,
      wantMessageSigned: false,
      signingCert: readableCertificate(keys.signingCert, keys.signingKey),
      privateKey: keys.signingKey,
      encryptCert: readableCertificate(keys.encryptionCert, keys.encryptionKey),
      encPrivateKey: keys.encryptionKey,
      isAssertionEncrypted: false,
      nameIDFormat: NAMEID_FORMATS,
      requestSignatureAlgorithm: RSA_SHA256,
      assertionConsumerService: [{ Binding: POST, Location: endpoints.acsUrl }],
    });
  }

  private async idp(c: SamlConnection): Promise<IdpEntity> {
    const xml = await this.#metadata.xml(c);
    const problem = idpMetadataProblem(xml);
    if (problem) throw new UpstreamError('saml_metadata', `IdP metadata: ${problem}`);
    return idpFrom(xml);
  }

  async metadata(c: SamlConnection, keys: SamlSpKeys, endpoints: SamlEndpoints): Promise<string> {
    return this.sp(c, keys, endpoints).getMetadata();
  }

  async loginRequest(
    c: SamlConnection,
    keys: SamlSpKeys,
    endpoints: SamlEndpoints,
    relayState: string,
  ): Promise<{ url: string; requestId: string }> {
    const idp = await this.idp(c);
    const sso = idp.entityMeta.getSingleSignOnService('redirect') as string;
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const xml =
      '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ' +
      `xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${requestId}" Version="2.0" ` +
      `IssueInstant="${new Date(this.#now()).toISOString()}" Destination="${xmlEscape(sso)}" ` +
      `ProtocolBinding="${POST}" AssertionConsumerServiceURL="${xmlEscape(endpoints.acsUrl)}">` +
      `<saml:Issuer>${xmlEscape(endpoints.entityId)}</saml:Issuer>` +
      '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/>' +
      '</samlp:AuthnRequest>';
    // HTTP-Redirect binding (saml-bindings §3.4.4.1): the signature covers the query string itself.
    let query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`;
    query += `&RelayState=${encodeURIComponent(relayState)}`;
    if (c.settings.sign_authn_requests) {
      query += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
      const signature = sign('sha256', Buffer.from(query), keys.signingKey).toString('base64');
      query += `&Signature=${encodeURIComponent(signature)}`;
    }
    const url = new URL(sso);
    url.search = url.search ? `${url.search.slice(1)}&${query}` : query;
    return { url: url.toString(), requestId };
  }

  async readResponse(
    c: SamlConnection,
    keys: SamlSpKeys,
    endpoints: SamlEndpoints,
    samlResponse: string,
  ): Promise<SamlAssertion> {
    const xml = decodeResponse(samlResponse);
    // Cheap refusals before the expensive schema validation.
    if (!RESPONSE_ROOT.test(xml)) throw new UpstreamError('saml_malformed', 'not a samlp:Response');
    refuseWeakAlgorithms(xml);
    try {
      await validateSamlXml(xml);
    } catch (err) {
      if (err instanceof SchemaInvalid) throw new UpstreamError('saml_schema', 'SAMLResponse is not schema-valid');
      throw err;
    }
    const idp = await this.idp(c);
    return readAssertion({
      xml,
      idpMeta: idp.entityMeta,
      idpEntityId: idp.entityMeta.getEntityID(),
      sp: this.sp(c, keys, endpoints),
      endpoints,
      settings: c.settings,
      now: this.#now(),
      skewSeconds: SAML_SKEW_SECONDS,
      lib: SamlLib,
    });
  }
}
