import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';
import type { Resource, ResourceInput, ResourceRepository } from '../../domain/resources/resources.js';

type Row = {
  indicator: string;
  name: string | null;
  scopes: unknown;
  access_token_ttl_seconds: number | null;
  access_token_format: 'jwt' | 'opaque';
  signing_alg: 'ES256' | 'RS256' | 'EdDSA' | null;
  introspection_clients: unknown;
  created_at: Date | string;
  updated_at: Date | string;
};

const parseJson = <T>(v: unknown): T | undefined =>
  typeof v === 'string' ? (JSON.parse(v) as T) : (v as T | undefined);

const toResource = (r: Row): Resource => ({
  indicator: r.indicator,
  ...(r.name ? { name: r.name } : {}),
  scopes: (typeof r.scopes === 'string' ? JSON.parse(r.scopes) : r.scopes) as Resource['scopes'],
  ...(r.access_token_ttl_seconds ? { access_token_ttl_seconds: r.access_token_ttl_seconds } : {}),
  access_token_format: r.access_token_format,
  ...(r.signing_alg ? { signing_alg: r.signing_alg } : {}),
  introspection_clients: parseJson(r.introspection_clients) ?? [],
  created_at: new Date(r.created_at).toISOString(),
  updated_at: new Date(r.updated_at).toISOString(),
});

function toRow(input: Partial<ResourceInput>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  if (input.indicator !== undefined) row.indicator = input.indicator;
  if (input.name !== undefined) row.name = input.name;
  if (input.scopes !== undefined) row.scopes = JSON.stringify(input.scopes);
  if (input.access_token_ttl_seconds !== undefined) row.access_token_ttl_seconds = input.access_token_ttl_seconds;
  if (input.access_token_format !== undefined) row.access_token_format = input.access_token_format;
  if (input.signing_alg !== undefined) row.signing_alg = input.signing_alg;
  if (input.introspection_clients !== undefined) {
    row.introspection_clients = JSON.stringify(input.introspection_clients);
  }
  return row;
}

export class SqlResourceRepository implements ResourceRepository {
  constructor(private readonly database: Database) {}
  private get table() {
    return this.database.db()<Row>('resources');
  }

  async insert(resource: ResourceInput): Promise<Resource> {
    const [row] = await this.table.insert(toRow(resource)).returning('*');
    return toResource(row as Row);
  }

  async find(indicator: string): Promise<Resource | undefined> {
    const row = await this.table.where({ indicator }).first();
    return row ? toResource(row as Row) : undefined;
  }

  async list(): Promise<Resource[]> {
    return (await this.table.orderBy('indicator')).map((r) => toResource(r as Row));
  }

  async update(indicator: string, changes: Partial<ResourceInput>): Promise<Resource | undefined> {
    const [row] = await this.table
      .where({ indicator })
      .update({ ...toRow(changes), updated_at: new Date() })
      .returning('*');
    return row ? toResource(row as Row) : undefined;
  }

  async delete(indicator: string): Promise<boolean> {
    return affectedRows(await this.table.where({ indicator }).delete()) > 0;
  }
}
