import { UpstreamError } from '../domain/federation/upstream.js';

/**
 * A SAMLResponse before any XML parsing: size, base64, DOCTYPE and root-element checks, and the
 * attributes of one start tag. Plain text work with no SAML library, so the server can refuse a
 * response, or read its InResponseTo, without loading samlify.
 */

/** A base64 SAMLResponse larger than this is refused before decoding (the route limits the body too). */
const RESPONSE_LIMIT_CHARS = 512 * 1024;

/** The start tag of the document element, when it is a Response (after an optional BOM, XML declaration). */
export const RESPONSE_ROOT =
  /^\uFEFF?\s*(?:<\?xml[^>]*\?>)?\s*<(?:[\w.-]+:)?Response((?:\s+[^\s=<>/"']+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*>/;

/** The attributes of a start tag's attribute text, by qualified name, as written (entities not expanded). */
export function attributesOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([^\s=<>/"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out.set(m[1]!, m[2] ?? m[3] ?? '');
  return out;
}

/**
 * The XML of a base64 SAMLResponse, refused before any parsing when it is too large, not base64,
 * or carries a DOCTYPE (no DTD is legitimate in SAML: XXE, entity expansion).
 */
export function decodeResponse(samlResponse: string): string {
  if (samlResponse.length > RESPONSE_LIMIT_CHARS || !/^[A-Za-z0-9+/=\s]+$/.test(samlResponse))
    throw new UpstreamError('saml_malformed', 'SAMLResponse is not base64');
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  if (/<!DOCTYPE/i.test(xml)) throw new UpstreamError('saml_malformed', 'SAMLResponse has a DOCTYPE');
  return xml;
}

/** The root Response's InResponseTo as written (unverified), or undefined; saml_malformed when the root is no Response. */
export function peekInResponseTo(samlResponse: string): string | undefined {
  const root = RESPONSE_ROOT.exec(decodeResponse(samlResponse));
  if (!root) throw new UpstreamError('saml_malformed', 'not a samlp:Response');
  return attributesOf(root[1]!).get('InResponseTo') || undefined;
}
