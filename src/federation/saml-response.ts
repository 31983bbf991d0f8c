import samlify from 'samlify';
import type { SamlSettings } from '../domain/federation/connection.js';
import type { SamlAssertion, SamlEndpoints } from '../domain/federation/saml.js';
import { UpstreamError, type UpstreamProfile } from '../domain/federation/upstream.js';
import { attributesOf } from './saml-raw-response.js';

const { Extractor } = samlify;

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';

/** Attribute names read for the email / name when `attribute_mapping` names none (first present wins). */
export const DEFAULT_EMAIL_ATTRIBUTES = [
  'email',
  'mail',
  'urn:oid:0.9.2342.19200300.100.1.3',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
];
export const DEFAULT_NAME_ATTRIBUTES = [
  'name',
  'displayName',
  'urn:oid:2.16.840.1.113730.3.1.241',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
];
const GIVEN_NAME = ['givenName', 'urn:oid:2.5.4.42', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname'];
const SURNAME = ['sn', 'urn:oid:2.5.4.4', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname'];
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * The only signature and digest algorithms accepted in a ds:Signature: SHA-2 (RFC 6931). SHA-1
 * (rsa-sha1, the xmldsig#sha1 digest) and anything unknown is refused as `saml_weak_algorithm`.
 */
const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
]);
const DIGEST_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);
/** An element's start tag, whatever its namespace prefix (any NCName, not only ASCII). */
const tag = (localName: string) => `<(?:[^\\s<>/!?:=]+:)?${localName}(?=[\\s>/])`;
/** A start tag's attributes (a quoted value may hold `>`), as a capture group. */
const ATTRIBUTES = `((?:\\s+[^\\s=<>/"']+\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*`;
const ALGORITHM_TAG = new RegExp(`${tag('(SignatureMethod|DigestMethod)')}${ATTRIBUTES}/?>`, 'g');

/** Comments, CDATA sections and processing instructions: markup-like text that is not an element. */
const NOT_ELEMENTS = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/g;
/** Encryption algorithms refused in an EncryptedAssertion (xmlenc-core1 §5.4.1 note: PKCS#1 v1.5 key transport; 3DES). */
const WEAK_ENCRYPTION = new Set([
  'http://www.w3.org/2001/04/xmlenc#rsa-1_5',
  'http://www.w3.org/2001/04/xmlenc#tripledes-cbc',
]);
/** xenc:EncryptionMethod (its DigestMethod is RSA-OAEP's mask hash, not a signature digest). */
const ENCRYPTION_METHOD = new RegExp(
  `<((?:[^\\s<>/!?:=]+:)?)EncryptionMethod(?=[\\s>/])${ATTRIBUTES}(?:/>|>[\\s\\S]*?</\\1EncryptionMethod\\s*>)`,
  'g',
);
const ASSERTION_TAG = new RegExp(tag('(Encrypted)?Assertion'), 'g');
const ENCRYPTED_ASSERTION_TAG = new RegExp(tag('EncryptedAssertion'));

/**
 * saml_weak_algorithm when a signature in `xml` names a SignatureMethod or DigestMethod other than
 * SHA-2 RSA, or an encrypted assertion RSA PKCS#1 v1.5 key transport or 3DES (samlify does not
 * ask xml-encryption to refuse them).
 */
export function refuseWeakAlgorithms(xml: string): void {
  const elements = xml.replace(NOT_ELEMENTS, '').replace(ENCRYPTION_METHOD, (_method, _prefix, attributes) => {
    const algorithm = attributesOf(attributes).get('Algorithm') ?? '';
    if (WEAK_ENCRYPTION.has(algorithm)) fail('saml_weak_algorithm', `EncryptionMethod ${algorithm} is not accepted`);
    return '';
  });
  for (const m of elements.matchAll(ALGORITHM_TAG)) {
    // A tag this pattern does not match is not well-formed: schema validation refuses it next.
    const algorithm = attributesOf(m[2]!).get('Algorithm') ?? '';
    const allowed = m[1] === 'SignatureMethod' ? SIGNATURE_ALGORITHMS : DIGEST_ALGORITHMS;
    if (!allowed.has(algorithm))
      fail('saml_weak_algorithm', `${m[1]} ${algorithm.slice(0, 100)} is not accepted (SHA-256 or stronger)`);
  }
}

type Lib = typeof samlify.SamlLib;
type Field = Parameters<typeof Extractor.extract>[1][number];

export interface ReadAssertionInput {
  xml: string;
  idpMeta: Parameters<Lib['verifySignature']>[1]['metadata'];
  idpEntityId: string;
  /** The SP entity (its encryption key decrypts EncryptedAssertion). */
  sp: Parameters<Lib['decryptAssertion']>[0];
  endpoints: SamlEndpoints;
  settings: SamlSettings;
  now: number;
  skewSeconds: number;
  lib: Lib;
}

const fail = (reason: string, message: string): never => {
  throw new UpstreamError(reason, message);
};

function extract(xml: string, field: Omit<Field, 'key'>): unknown {
  return Extractor.extract(xml, [{ key: 'v', ...field } as Field]).v;
}
/** A text value that must occur at most once: undefined when absent, refused when repeated. */
function single(xml: string, localPath: string[], reason: string): string | undefined {
  const v = extract(xml, { localPath, attributes: [] });
  if (Array.isArray(v)) fail(reason, `${localPath.join('/')} occurs more than once`);
  return typeof v === 'string' && v !== '' ? v : undefined;
}
/** The attributes of an element that must occur at most once. */
function attrs(xml: string, localPath: string[], names: string[], reason: string): Record<string, string> | undefined {
  // Two names at least, so samlify's extractor returns a record per element (one name would pick the first silently).
  const v = extract(xml, { localPath, attributes: [...names, '__none__'] });
  if (Array.isArray(v)) return v.length ? fail(reason, `${localPath.join('/')} occurs more than once`) : undefined;
  return (v as Record<string, string> | undefined) ?? undefined;
}
function entire(xml: string, localPath: string[]): string[] {
  const v = extract(xml, { localPath, attributes: [], context: true } as Omit<Field, 'key'>);
  return v == null ? [] : Array.isArray(v) ? (v as string[]) : [v as string];
}
function time(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? fail('saml_malformed', `${what} is not a dateTime`) : t;
}

/**
 * Every check of a SAMLResponse after schema validation; values are read only from the assertion
 * the IdP's signature covers (the signed reference as xml-crypto canonicalized it, never the
 * position in the document: XML signature wrapping fails). See docs/security.md (SAML).
 */
export async function readAssertion(input: ReadAssertionInput): Promise<SamlAssertion> {
  const { xml, settings, endpoints, lib, now } = input;
  const skew = input.skewSeconds * 1000;

  const response = attrs(xml, ['Response'], ['ID', 'Destination', 'InResponseTo'], 'saml_malformed');
  if (!response?.id || !/^(<\?xml[^>]*\?>)?\s*<([\w.-]+:)?Response[\s>]/.test(xml))
    fail('saml_malformed', 'not a samlp:Response');
  const status = Extractor.extract(xml, Extractor.loginResponseStatusFields) as { top?: string };
  if (status.top !== SUCCESS) fail('saml_status', `status ${status.top ?? '(none)'}`);
  if (response!.destination !== undefined && response!.destination !== endpoints.acsUrl)
    fail('saml_destination', 'Destination is not this ACS');
  const responseIssuer = single(xml, ['Response', 'Issuer'], 'saml_issuer');
  if (responseIssuer !== undefined && responseIssuer !== input.idpEntityId)
    fail('saml_issuer', 'Response Issuer is not the IdP');
  // One assertion, in plain or encrypted form, and no other anywhere (wrapping, smuggling).
  // Any prefix counts (a non-ASCII one is as good as `saml:` to an XML parser).
  const assertionTags = xml.match(ASSERTION_TAG) ?? [];
  if (assertionTags.length !== 1) fail('saml_assertion_count', `${assertionTags.length} assertions`);

  const verify = (doc: string): string | null => {
    try {
      const [ok, node] = lib.verifySignature(doc, { metadata: input.idpMeta });
      return ok ? node : null;
    } catch {
      return null;
    }
  };
  /** The assertion, verified by its own enveloped signature. */
  const assertionSignedItself = (assertion: string): string => {
    const bare = assertion.replace(/^\s*<\?xml[^>]*\?>/, '');
    const node = verify(`<samlp:Response xmlns:samlp="${PROTOCOL_NS}">${bare}</samlp:Response>`);
    return node ?? fail('saml_signature', 'the assertion is not signed by the IdP');
  };

  let assertion: string;
  if (ENCRYPTED_ASSERTION_TAG.test(xml)) {
    // Signed-then-encrypted (the assertion's own signature inside) or an encrypted assertion in a signed Response.
    const signedResponse = verify(xml);
    let decrypted: [string, string];
    try {
      decrypted = await lib.decryptAssertion(input.sp, signedResponse ?? xml);
    } catch {
      return fail('saml_decrypt', 'the assertion could not be decrypted with the SP encryption key');
    }
    refuseWeakAlgorithms(decrypted[1]);
    assertion = signedResponse && !settings.want_assertions_signed ? decrypted[1] : assertionSignedItself(decrypted[1]);
  } else if (settings.want_assertions_signed) {
    // The assertion's own signature; what is read next is its signed reference, not this copy.
    const [plain] = entire(xml, ['Response', 'Assertion']);
    assertion = assertionSignedItself(plain ?? fail('saml_assertion_count', 'no assertion'));
  } else {
    assertion = verify(xml) ?? fail('saml_signature', 'no valid IdP signature over the Response or the Assertion');
  }
  assertion = assertion.replace(/^\s*<\?xml[^>]*\?>/, '');
  if (!/^\s*<([\w.-]+:)?Assertion[\s>]/.test(assertion))
    fail('saml_signature', 'the signed element is not an assertion');

  // From here on, only the signed assertion.
  const head = attrs(assertion, ['Assertion'], ['ID', 'Version'], 'saml_malformed');
  const assertionId = head?.id ?? fail('saml_malformed', 'assertion without ID');
  if (single(assertion, ['Assertion', 'Issuer'], 'saml_issuer') !== input.idpEntityId)
    fail('saml_issuer', 'assertion Issuer is not the IdP');

  const conditions = attrs(assertion, ['Assertion', 'Conditions'], ['NotBefore', 'NotOnOrAfter'], 'saml_malformed');
  const notBefore = time(conditions?.notBefore, 'NotBefore');
  const conditionsEnd = time(conditions?.notOnOrAfter, 'NotOnOrAfter');
  if (notBefore !== undefined && notBefore > now + skew)
    fail('saml_not_yet_valid', 'Conditions NotBefore in the future');
  if (conditionsEnd !== undefined && conditionsEnd <= now - skew)
    fail('saml_expired', 'Conditions NotOnOrAfter passed');
  // Each AudienceRestriction must name this SP (saml-core §2.5.1.4); at least one must be present.
  const restrictions = entire(assertion, ['Assertion', 'Conditions', 'AudienceRestriction']);
  if (restrictions.length === 0) fail('saml_audience', 'no AudienceRestriction');
  for (const r of restrictions) {
    const audiences = [extract(r, { localPath: ['AudienceRestriction', 'Audience'], attributes: [] })].flat();
    if (!audiences.includes(endpoints.entityId)) fail('saml_audience', 'the SP is not an Audience');
  }

  const confirmations = entire(assertion, ['Assertion', 'Subject', 'SubjectConfirmation']).filter(
    (s) => attrs(s, ['SubjectConfirmation'], ['Method'], 'saml_subject')?.method === BEARER,
  );
  if (confirmations.length !== 1) fail('saml_subject', `${confirmations.length} bearer SubjectConfirmations`);
  const data =
    attrs(
      confirmations[0]!,
      ['SubjectConfirmation', 'SubjectConfirmationData'],
      ['Recipient', 'NotBefore', 'NotOnOrAfter', 'InResponseTo'],
      'saml_subject',
    ) ?? fail('saml_subject', 'no SubjectConfirmationData');
  if (data.recipient !== endpoints.acsUrl) fail('saml_recipient', 'Recipient is not this ACS');
  const confirmationEnd =
    time(data.notOnOrAfter, 'SubjectConfirmationData NotOnOrAfter') ??
    fail('saml_subject', 'SubjectConfirmationData without NotOnOrAfter');
  if (confirmationEnd <= now - skew) fail('saml_expired', 'SubjectConfirmationData NotOnOrAfter passed');
  const confirmationStart = time(data.notBefore, 'SubjectConfirmationData NotBefore');
  if (confirmationStart !== undefined && confirmationStart > now + skew)
    fail('saml_not_yet_valid', 'SubjectConfirmationData NotBefore in the future');
  const inResponseTo = data.inResponseTo || undefined;
  if ((response!.inResponseTo || undefined) !== inResponseTo)
    fail('saml_in_response_to', 'Response and SubjectConfirmationData InResponseTo differ');

  const nameId = single(assertion, ['Assertion', 'Subject', 'NameID'], 'saml_nameid')?.trim();
  if (!nameId) fail('saml_nameid', 'no NameID');
  const nameIdFormat = attrs(assertion, ['Assertion', 'Subject', 'NameID'], ['Format'], 'saml_nameid')?.format;

  const profile = profileOf(assertion, nameId!, nameIdFormat, settings);
  return {
    ...(inResponseTo ? { inResponseTo } : {}),
    assertionId,
    notOnOrAfter: new Date(Math.min(confirmationEnd, conditionsEnd ?? confirmationEnd)),
    profile,
  };
}

/** The person as the assertion's attributes describe them (attribute_mapping, else the common names). */
function profileOf(
  assertion: string,
  nameId: string,
  nameIdFormat: string | undefined,
  settings: SamlSettings,
): UpstreamProfile {
  const raw = Extractor.extract(assertion, [
    {
      key: 'attributes',
      localPath: ['Assertion', 'AttributeStatement', 'Attribute'],
      index: ['Name'],
      attributePath: ['AttributeValue'],
      attributes: [],
    } as Field,
  ]).attributes as Record<string, unknown> | undefined;
  const value = (name: string): string | undefined => {
    const v = raw?.[name];
    const first = Array.isArray(v) ? v.find((x) => typeof x === 'string') : v;
    return typeof first === 'string' && first.trim() ? first.trim() : undefined;
  };
  const firstOf = (names: string[]) => names.map(value).find((v) => v !== undefined);
  const mapping = settings.attribute_mapping ?? {};
  let email = mapping.email ? value(mapping.email) : firstOf(DEFAULT_EMAIL_ATTRIBUTES);
  if (!email && !mapping.email && nameIdFormat === EMAIL_FORMAT) email = nameId;
  if (email && !EMAIL.test(email)) email = undefined;
  let name = mapping.name ? value(mapping.name) : firstOf(DEFAULT_NAME_ATTRIBUTES);
  if (!name && !mapping.name) {
    const joined = [firstOf(GIVEN_NAME), firstOf(SURNAME)].filter(Boolean).join(' ');
    name = joined || undefined;
  }
  return {
    subject: nameId,
    ...(email ? { email } : {}),
    emailVerified: settings.email_verified && !!email,
    ...(name ? { name: name.slice(0, 200) } : {}),
  };
}
