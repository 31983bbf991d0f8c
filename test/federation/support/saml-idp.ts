/**
 * A SAML 2.0 identity provider for tests, on samlify (its IdentityProvider entity for metadata and
 * assertion encryption, its xml-crypto signing) with its own RSA key and self-signed certificate
 * (made by the SP key generator, src/federation/saml-keys.ts).
 *
 * API:
 * - `await TestSamlIdp.start()` — listens on 127.0.0.1: `GET /metadata` (its metadata, for
 *   `idp_metadata_url`), `GET /sso` (a stand-in login page, so a user agent following the
 *   AuthnRequest redirect stops there; with `idp.signInAs` set, the page a browser gets instead:
 *   the `html` of `respond()` for that user, a form that posts itself to the ACS and has a visible
 *   Continue button for a browser without JavaScript). `close()` stops it.
 * - `idp.signInAs = { user, options? }` — who `GET /sso` answers for (`undefined`: the stand-in page).
 * - `idp.entityId`, `idp.ssoUrl`, `idp.metadataUrl`, `idp.metadata` (XML), `idp.cert` (PEM).
 * - `readRequest(url)` — the SP's AuthnRequest from its HTTP-Redirect URL (the Location the
 *   sign-in page sends the browser to): `{ id, relayState, acsUrl, issuer, xml, sigAlg, signature,
 *   signedOctets }` (signature fields only when signed).
 * - `await idp.respond(url, user, options?)` — the IdP's answer to that request for `user`:
 *   `{ SAMLResponse, RelayState, acsUrl, html }` (`html` is the auto-posting form a browser would get).
 * - `await idp.unsolicited(sp, user, options?)` — an IdP-initiated response (no InResponseTo),
 *   `sp = { entityId, acsUrl, metadata? }`.
 * - `await idp.buildResponse(sp, user, options)` — the raw base64 SAMLResponse from the template,
 *   for hostile tests. `options` (ResponseOptions): `inResponseTo` (null: none), `audience`,
 *   `destination` (null: none), `recipient`, `notBefore`, `notOnOrAfter` (Conditions and
 *   SubjectConfirmationData), `issuer`, `status`, `assertionId`, `signAssertion` (default true),
 *   `signResponse` (default false), `unsigned` (neither), `encrypt` (with the SP's encryption
 *   certificate from `sp.metadata`), `signingKey`/`signingCert` (sign with another key),
 *   `transformAssertion` / `transformResponse` (edit the XML before / after signing).
 * `user`: `{ nameId, nameIdFormat?, email?, name?, attributes? }`; `email` and `name` go out as
 * the `email` and `displayName` attributes unless `attributes` is given.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import samlify from 'samlify';
import { rsaKeyWithCertificate } from '../../../src/federation/saml-keys.js';
import '../../../src/federation/saml-service-provider.js'; // registers the schema validator samlify needs

const { IdentityProvider, ServiceProvider, SamlLib } = samlify;

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const PERSISTENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

export interface SamlUser {
  nameId: string;
  nameIdFormat?: string;
  email?: string;
  name?: string;
  /** Attribute name → value(s); replaces the default `email` / `displayName` attributes. */
  attributes?: Record<string, string | string[]>;
}

export interface SpTarget {
  entityId: string;
  acsUrl: string;
  /** The SP metadata XML (needed for `encrypt`). */
  metadata?: string;
}

export interface ResponseOptions {
  inResponseTo?: string | null;
  audience?: string;
  destination?: string | null;
  recipient?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  issuer?: string;
  status?: string;
  assertionId?: string;
  signAssertion?: boolean;
  signResponse?: boolean;
  unsigned?: boolean;
  encrypt?: boolean;
  signingKey?: string;
  signingCert?: string;
  transformAssertion?: (xml: string) => string;
  transformResponse?: (xml: string) => string;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const id = () => `_${crypto.randomUUID().replaceAll('-', '')}`;

export class TestSamlIdp {
  /** Who `GET /sso` signs in (its answer is the auto-posting form); unset: a stand-in page. */
  signInAs?: { user: SamlUser; options?: ResponseOptions & { spMetadata?: string } };

  private constructor(
    private readonly server: Server,
    readonly base: string,
    readonly key: string,
    readonly cert: string,
    readonly metadata: string,
  ) {}

  get entityId() {
    return `${this.base}/idp`;
  }
  get ssoUrl() {
    return `${this.base}/sso`;
  }
  get metadataUrl() {
    return `${this.base}/metadata`;
  }

  static async start(): Promise<TestSamlIdp> {
    let metadata = '';
    let self: TestSamlIdp | undefined;
    const server = createServer((req, res) => {
      if (req.url === '/metadata') {
        res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
        res.end(metadata);
      } else if (req.url?.startsWith('/sso') && self?.signInAs) {
        const { user, options } = self.signInAs;
        self.respond(`${self.base}${req.url}`, user, options).then(
          (form) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(form.html),
          (err) => res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err)),
        );
      } else if (req.url?.startsWith('/sso')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>Test IdP</title><p>Sign in at the test IdP</p>');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { key, cert } = await rsaKeyWithCertificate(`${base}/idp`);
    metadata = IdentityProvider({
      entityID: `${base}/idp`,
      signingCert: cert,
      privateKey: key,
      wantAuthnRequestsSigned: true,
      nameIDFormat: [EMAIL_FORMAT, PERSISTENT_FORMAT],
      singleLogoutService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${base}/slo` }],
      singleSignOnService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${base}/sso` },
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: `${base}/sso` },
      ],
    }).getMetadata();
    self = new TestSamlIdp(server, base, key, cert, metadata);
    return self;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The AuthnRequest in an SP's HTTP-Redirect URL. */
  readRequest(url: string) {
    const u = new URL(url);
    const raw = u.searchParams.get('SAMLRequest');
    if (!raw) throw new Error(`no SAMLRequest in ${url}`);
    const xml = inflateRawSync(Buffer.from(raw, 'base64')).toString('utf8');
    const attr = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(xml)?.[1];
    // The signed octets: the query's own encoding, in the order SAMLRequest, RelayState, SigAlg.
    const parts = u.search.slice(1).split('&');
    const pick = (k: string) => parts.find((p) => p.startsWith(`${k}=`));
    const signedOctets = ['SAMLRequest', 'RelayState', 'SigAlg'].map(pick).filter(Boolean).join('&');
    return {
      xml,
      id: attr('ID')!,
      acsUrl: attr('AssertionConsumerServiceURL')!,
      destination: attr('Destination'),
      issuer: /<saml:Issuer>([^<]*)<\/saml:Issuer>/.exec(xml)?.[1],
      relayState: u.searchParams.get('RelayState') ?? undefined,
      sigAlg: u.searchParams.get('SigAlg') ?? undefined,
      signature: u.searchParams.get('Signature') ?? undefined,
      signedOctets,
    };
  }

  /** The answer to the AuthnRequest in `url` for `user`: the form fields and the auto-posting page. */
  async respond(url: string, user: SamlUser, options: ResponseOptions & { spMetadata?: string } = {}) {
    const request = this.readRequest(url);
    const sp = { entityId: request.issuer!, acsUrl: request.acsUrl, metadata: options.spMetadata };
    const SAMLResponse = await this.buildResponse(sp, user, { inResponseTo: request.id, ...options });
    return this.post(sp.acsUrl, SAMLResponse, request.relayState);
  }

  /** An IdP-initiated response (no AuthnRequest, no InResponseTo). */
  async unsolicited(sp: SpTarget, user: SamlUser, options: ResponseOptions = {}) {
    const SAMLResponse = await this.buildResponse(sp, user, { inResponseTo: null, ...options });
    return this.post(sp.acsUrl, SAMLResponse, undefined);
  }

  private post(acsUrl: string, SAMLResponse: string, RelayState: string | undefined) {
    const fields = { SAMLResponse, ...(RelayState !== undefined ? { RelayState } : {}) };
    const inputs = Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}">`)
      .join('');
    const html = `<!doctype html><html lang="en"><title>Test IdP</title><body onload="document.forms[0].submit()"><form method="post" action="${esc(acsUrl)}">${inputs}<button>Continue</button></form></body></html>`;
    return { ...fields, acsUrl, html } as { SAMLResponse: string; RelayState?: string; acsUrl: string; html: string };
  }

  /** A SAMLResponse (base64) from the template with `options` applied. */
  async buildResponse(sp: SpTarget, user: SamlUser, options: ResponseOptions = {}): Promise<string> {
    const now = Date.now();
    const issuer = options.issuer ?? this.entityId;
    const notBefore = (options.notBefore ?? new Date(now - 30_000)).toISOString();
    const notOnOrAfter = (options.notOnOrAfter ?? new Date(now + 300_000)).toISOString();
    const inResponseTo = options.inResponseTo === undefined ? undefined : options.inResponseTo;
    const irt = inResponseTo ? ` InResponseTo="${esc(inResponseTo)}"` : '';
    const destination = options.destination === undefined ? sp.acsUrl : options.destination;
    const assertionId = options.assertionId ?? id();
    const instant = new Date(now).toISOString();
    const attributes =
      user.attributes ??
      Object.fromEntries(
        [
          ['email', user.email],
          ['displayName', user.name],
        ].filter(([, v]) => v !== undefined) as [string, string][],
      );
    const attributeXml = Object.entries(attributes)
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${[values]
            .flat()
            .map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`)
            .join('')}</saml:Attribute>`,
      )
      .join('');
    let assertion =
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${esc(assertionId)}" Version="2.0" IssueInstant="${instant}">` +
      `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="${esc(user.nameIdFormat ?? EMAIL_FORMAT)}">${esc(user.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${esc(options.recipient ?? sp.acsUrl)}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${esc(options.audience ?? sp.entityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="${id()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attributeXml ? `<saml:AttributeStatement>${attributeXml}</saml:AttributeStatement>` : '') +
      '</saml:Assertion>';
    if (options.transformAssertion) assertion = options.transformAssertion(assertion);
    let response =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id()}" Version="2.0" IssueInstant="${instant}"` +
      `${destination ? ` Destination="${esc(destination)}"` : ''}${irt}>` +
      `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${esc(options.status ?? SUCCESS)}"/></samlp:Status>` +
      `${assertion}</samlp:Response>`;
    const key = options.signingKey ?? this.key;
    const cert = options.signingCert ?? this.cert;
    const sign = (xml: string, reference: string, after: string) =>
      SamlLib.constructSAMLSignature({
        rawSamlMessage: xml,
        referenceTagXPath: reference,
        privateKey: key,
        signingCert: samlify.Utility.normalizeCerString(cert),
        signatureAlgorithm: RSA_SHA256,
        isBase64Output: false,
        signatureConfig: { prefix: 'ds', location: { reference: after, action: 'after' } },
      });
    if (!options.unsigned && options.signAssertion !== false)
      response = sign(
        response,
        "/*[local-name(.)='Response']/*[local-name(.)='Assertion']",
        "/*[local-name(.)='Response']/*[local-name(.)='Assertion']/*[local-name(.)='Issuer']",
      );
    if (options.encrypt) {
      if (!sp.metadata) throw new Error('encrypt needs the SP metadata');
      const idp = IdentityProvider({ metadata: this.metadata, isAssertionEncrypted: true });
      const target = ServiceProvider({ metadata: sp.metadata });
      response = Buffer.from(await SamlLib.encryptAssertion(idp, target, response), 'base64').toString('utf8');
    }
    if (!options.unsigned && options.signResponse)
      response = sign(
        response,
        "/*[local-name(.)='Response']",
        "/*[local-name(.)='Response']/*[local-name(.)='Issuer']",
      );
    if (options.transformResponse) response = options.transformResponse(response);
    return Buffer.from(response).toString('base64');
  }
}
