import type { SamlConnection } from '../domain/federation/saml.js';
import { UpstreamError } from '../domain/federation/upstream.js';

/** An IdP's metadata document is a few certificates and endpoints; a federation aggregate is not accepted. */
export const IDP_METADATA_LIMIT_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
/** `idp_metadata_url` is fetched again after this long (the IdP rolls its certificates through it). */
export const IDP_METADATA_REFRESH_MS = 24 * 3600 * 1000;

export type MetadataWarn = (fields: Record<string, unknown>, message: string) => void;

/**
 * The IdP metadata of a SAML connection: `idp_metadata_xml` as given, or `idp_metadata_url`
 * fetched (timeout, size limit) and cached per connection; refreshed after 24 h. A failed refresh
 * keeps the last good copy (with a warning); a first fetch that fails is an UpstreamError.
 */
export class IdpMetadataSource {
  readonly #cache = new Map<string, { url: string; xml: string; fetchedAt: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly warn: MetadataWarn = () => {},
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async xml(c: SamlConnection): Promise<string> {
    const { idp_metadata_xml: inline, idp_metadata_url: url } = c.settings;
    if (inline) return inline;
    if (!url) throw new UpstreamError('saml_metadata', `connection ${c.slug} has no IdP metadata`);
    const cached = this.#cache.get(c.id);
    if (cached && cached.url === url && this.now() - cached.fetchedAt < IDP_METADATA_REFRESH_MS) return cached.xml;
    try {
      const xml = await this.fetch(url);
      this.#cache.set(c.id, { url, xml, fetchedAt: this.now() });
      return xml;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (cached && cached.url === url) {
        this.warn({ connectionId: c.id, reason }, 'SAML IdP metadata refresh failed; keeping the last good copy');
        // Try again in an hour rather than on every sign-in.
        cached.fetchedAt = this.now() - IDP_METADATA_REFRESH_MS + 3600 * 1000;
        return cached.xml;
      }
      throw new UpstreamError('saml_metadata', `IdP metadata could not be fetched: ${reason}`);
    }
  }

  private async fetch(url: string): Promise<string> {
    const res = await this.fetchImpl(url, {
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
      headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' },
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > IDP_METADATA_LIMIT_BYTES) throw new Error('metadata too large');
    const reader = res.body?.getReader();
    if (!reader) throw new Error('empty body');
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > IDP_METADATA_LIMIT_BYTES) {
        await reader.cancel();
        throw new Error('metadata too large');
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
