import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';
import type { ClientMetadataCache } from '../client-metadata-cache.js';
import type { ClientMetadata } from '../../domain/clients/client-metadata.js';
import type { ClientRepository } from '../../domain/clients/clients.js';

const parse = (m: unknown) => (typeof m === 'string' ? JSON.parse(m) : m) as ClientMetadata;

export class SqlClientRepository implements ClientRepository {
  constructor(
    private readonly database: Database,
    private readonly cache: ClientMetadataCache,
  ) {}
  private get clients() {
    return this.database.db()('clients');
  }

  async insert(metadata: ClientMetadata): Promise<void> {
    this.cache.invalidate(metadata.client_id);
    await this.clients.insert({ client_id: metadata.client_id, metadata: JSON.stringify(metadata) });
  }

  async find(clientId: string): Promise<ClientMetadata | undefined> {
    const row = await this.clients.where({ client_id: clientId }).first('metadata');
    return row ? parse(row.metadata) : undefined;
  }

  async list({ limit, after }: { limit: number; after?: string }): Promise<ClientMetadata[]> {
    const q = this.clients.orderBy('client_id').limit(limit).select('metadata');
    if (after) q.where('client_id', '>', after);
    return (await q).map((r: { metadata: unknown }) => parse(r.metadata));
  }

  /** One conditional UPDATE: with `ifSecretHash`, the secret check and the write cannot be split by a concurrent rotation. */
  async replace(
    clientId: string,
    metadata: ClientMetadata,
    options?: { ifSecretHash: string | undefined },
  ): Promise<boolean> {
    this.cache.invalidate(clientId);
    const q = this.clients.where({ client_id: clientId });
    if (options) {
      if (options.ifSecretHash === undefined) q.whereRaw("metadata->>'client_secret' is null");
      else q.whereRaw("metadata->>'client_secret' = ?", [options.ifSecretHash]);
    }
    return affectedRows(await q.update({ metadata: JSON.stringify(metadata), updated_at: new Date() })) > 0;
  }

  async delete(clientId: string): Promise<boolean> {
    this.cache.invalidate(clientId);
    return affectedRows(await this.clients.where({ client_id: clientId }).delete()) > 0;
  }
}
