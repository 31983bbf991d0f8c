import type { Database } from '../database.js';
import type { ClientMetadataCache } from '../client-metadata-cache.js';
import { storableId } from './sql-adapter.js';
import { toProviderClientMetadata } from '../../domain/clients/provider-client-metadata.js';
import type { AdapterPayload, OidcAdapter } from './types.js';

/** Read side of the clients table for oidc-provider; clients are written by the admin API only. */
export class ClientsAdapter implements OidcAdapter {
  /** Each cached metadata object as JSON, serialised once: a fresh copy per request is one JSON.parse. */
  readonly #json = new WeakMap<object, string>();
  constructor(
    private readonly database: Database,
    private readonly cache: ClientMetadataCache,
  ) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storableId(id)) return undefined;
    const metadata = await this.cache.get(id, async () => {
      const row = await this.database.db()('clients').where({ client_id: id }).first('metadata');
      if (!row) return undefined;
      return toProviderClientMetadata(typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata);
    });
    if (!metadata) return undefined;
    // A copy: oidc-provider must not be able to change what other requests will see (building a
    // client, its schema pushes into the metadata's arrays). Client metadata is plain JSON.
    let json = this.#json.get(metadata);
    if (json === undefined) {
      json = JSON.stringify(metadata);
      this.#json.set(metadata, json);
    }
    return JSON.parse(json) as AdapterPayload;
  }

  async upsert(): Promise<void> {
    throw new Error('clients are managed through the admin API');
  }
  async findByUid() {
    return undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(): Promise<void> {
    throw new Error('clients cannot be consumed');
  }
  async destroy(): Promise<void> {
    throw new Error('clients are managed through the admin API');
  }
  async revokeByGrantId(): Promise<void> {
    /* clients do not belong to grants */
  }
}
