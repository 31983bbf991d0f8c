import type { ConnectionRepository, NewConnection, StoredConnection } from '../../domain/federation/connection.js';
import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';

const TABLE = 'connections';

interface Row {
  id: string;
  type: StoredConnection['type'];
  slug: string;
  name: string;
  enabled: boolean;
  domains: string[] | string;
  enforce_sso: boolean;
  jit: boolean;
  link_existing: StoredConnection['linkExisting'];
  trusted_mfa: boolean;
  settings: Record<string, unknown> | string;
  secret_sealed: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

// Settings are written only by the Connections service, which validates them per type.
const toConnection = (r: Row): StoredConnection =>
  ({
    id: r.id,
    type: r.type,
    slug: r.slug,
    name: r.name,
    enabled: r.enabled,
    domains: json(r.domains),
    enforceSso: r.enforce_sso,
    jit: r.jit,
    linkExisting: r.link_existing,
    trustedMfa: r.trusted_mfa,
    settings: json(r.settings) as never,
    secretSealed: r.secret_sealed,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  }) as StoredConnection;

const toRow = (c: NewConnection) => ({
  id: c.id,
  type: c.type,
  slug: c.slug,
  name: c.name,
  enabled: c.enabled,
  domains: JSON.stringify(c.domains),
  enforce_sso: c.enforceSso,
  jit: c.jit,
  link_existing: c.linkExisting,
  trusted_mfa: c.trustedMfa,
  settings: JSON.stringify(c.settings),
  secret_sealed: c.secretSealed,
});

/** `connections` (migration 015) on PostgreSQL / PGlite. A taken slug is a Conflict (unique index). */
export class SqlConnectionRepository implements ConnectionRepository {
  constructor(private readonly database: Database) {}

  async insert(connection: NewConnection): Promise<StoredConnection> {
    const [row] = (await this.database.db()(TABLE).insert(toRow(connection)).returning('*')) as Row[];
    return toConnection(row!);
  }

  async findById(id: string): Promise<StoredConnection | undefined> {
    const row = (await this.database.db()(TABLE).where({ id }).first()) as Row | undefined;
    return row ? toConnection(row) : undefined;
  }

  async findBySlug(slug: string): Promise<StoredConnection | undefined> {
    const row = (await this.database.db()(TABLE).where({ slug }).first()) as Row | undefined;
    return row ? toConnection(row) : undefined;
  }

  async list(): Promise<StoredConnection[]> {
    const rows = (await this.database
      .db()(TABLE)
      .orderBy([{ column: 'created_at' }, { column: 'id' }])) as Row[];
    return rows.map(toConnection);
  }

  async update(connection: NewConnection): Promise<StoredConnection | undefined> {
    const { id, ...changes } = toRow(connection);
    const [row] = (await this.database
      .db()(TABLE)
      .where({ id })
      .update({ ...changes, updated_at: this.database.db().fn.now() })
      .returning('*')) as Row[];
    return row ? toConnection(row) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    return affectedRows(await this.database.db()(TABLE).where({ id }).delete()) > 0;
  }
}
