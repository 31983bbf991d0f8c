import type { Database } from '../database.js';
import { alreadyConsumed } from './already-consumed.js';
import { GroupedUpserts, type ModelRow } from './grouped-upserts.js';
import { SameTickReads } from './same-tick-reads.js';
import { StoredIds } from './stored-ids.js';
import type { TokenSealer } from './token-sealer.js';
import type { AdapterPayload, OidcAdapter } from './types.js';

export const TABLE = 'oidc_models';

function expiresAt(expiresIn?: number): Date | null {
  return expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
}

export type Row = { payload: AdapterPayload; consumed_at: Date | string | null };

/** PostgreSQL text cannot hold U+0000; no id we issue contains one, so such a lookup finds nothing. */
export const storableId = (id: string) => typeof id === 'string' && !id.includes('\u0000');

const FIND_SQL = `select payload, consumed_at, successor_id, successor_sealed from ${TABLE}
where model = ? and id = ? and (expires_at is null or expires_at > now())`;

export type FoundRow = Row & { successor_id: string | null; successor_sealed: string | null };

const upsertsByDatabase = new WeakMap<Database, GroupedUpserts>();

function groupedUpserts(database: Database): GroupedUpserts {
  let writes = upsertsByDatabase.get(database);
  if (!writes) {
    writes = new GroupedUpserts(database);
    upsertsByDatabase.set(database, writes);
  }
  return writes;
}

/** Where a request scope keeps a row read ahead (request-scope.ts `prefetched`). */
export const prefetchKey = (model: string, storedId: string) => `${model}\u0000${storedId}`;

/** One stored id under several models (an introspected token tried as each kind it may be). */
const FIND_MODELS_SQL = `select model, payload, consumed_at, successor_id, successor_sealed from ${TABLE}
where id = ? and model = any(?::text[]) and (expires_at is null or expires_at > now())`;

/**
 * One reader per database: lookups of one stored id under several models in the same tick are
 * one SELECT (same-tick-reads.ts); a lookup on its own is FIND_SQL, as before.
 */
const readersByDatabase = new WeakMap<Database, SameTickReads<FoundRow | undefined>>();

function sameTickReader(database: Database): SameTickReads<FoundRow | undefined> {
  let reader = readersByDatabase.get(database);
  if (!reader) {
    reader = new SameTickReads<FoundRow | undefined>(async (storedId, models) => {
      if (models.length === 1) {
        const result = await database.db().raw(FIND_SQL, [models[0]!, storedId]);
        return [(result as { rows: FoundRow[] }).rows[0]];
      }
      const result = await database.db().raw(FIND_MODELS_SQL, [storedId, [...new Set(models)]]);
      const byModel = new Map((result as { rows: (FoundRow & { model: string })[] }).rows.map((r) => [r.model, r]));
      return models.map((model) => {
        const row = byModel.get(model);
        if (!row) return undefined;
        const { model: _model, ...found } = row;
        return found;
      });
    });
    readersByDatabase.set(database, reader);
  }
  return reader;
}

/** The stored payload (jsonb from pg, text from some drivers) with `consumed` from its column. */
export function rowPayload(row: Row): AdapterPayload {
  const payload = typeof row.payload === 'string' ? (JSON.parse(row.payload) as AdapterPayload) : row.payload;
  if (row.consumed_at) payload.consumed = Math.floor(new Date(row.consumed_at).getTime() / 1000);
  return payload;
}

/**
 * oidc-provider models in PostgreSQL / PGlite, keyed by the SHA-256 of their id (stored-ids.ts).
 * Single use is one conditional UPDATE; refresh tokens extend this with an atomic rotation
 * (refresh-token-adapter.ts).
 */
export class SqlAdapter implements OidcAdapter {
  protected readonly ids: StoredIds;
  private readonly reads: SameTickReads<FoundRow | undefined>;
  /** Embedded only: writes queued behind the running one go as one statement (grouped-upserts.ts). */
  private readonly writes: GroupedUpserts | undefined;

  constructor(
    protected readonly database: Database,
    protected readonly model: string,
    sealer: TokenSealer,
  ) {
    this.ids = new StoredIds(model, sealer);
    this.reads = sameTickReader(database);
    this.writes = database.kind === 'pglite' ? groupedUpserts(database) : undefined;
  }

  protected live() {
    return this.database
      .db()(TABLE)
      .where({ model: this.model })
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()));
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    this.forgetPrefetched(id);
    const row: ModelRow = {
      model: this.model,
      id: this.ids.key(id),
      payload: JSON.stringify(this.ids.toStored(id, payload)),
      grant_id: payload.grantId ?? null,
      uid: payload.uid ?? null,
      user_code: payload.userCode ? this.ids.key(payload.userCode) : null,
      expires_at: expiresAt(expiresIn),
    };
    if (this.writes) return this.writes.write(row);
    await this.database
      .db()(TABLE)
      .insert(row)
      .onConflict(['model', 'id'])
      .merge(['payload', 'grant_id', 'uid', 'user_code', 'expires_at']);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storableId(id)) return undefined;
    const row = await this.findRow(id);
    return row && this.ids.fromStored(rowPayload(row), id);
  }

  /**
   * The hot lookup of every token request, as plain SQL (no query building per call), read with
   * the same id's other models asked for in this tick.
   */
  protected findRow(id: string): Promise<FoundRow | undefined> {
    const storedId = this.ids.key(id);
    const prefetched = this.database.requestScope()?.prefetched;
    const ahead = prefetched && prefetchKey(this.model, storedId);
    if (ahead && prefetched.has(ahead)) {
      const row = prefetched.get(ahead) as FoundRow | undefined;
      prefetched.delete(ahead);
      return Promise.resolve(row);
    }
    return this.reads.read(storedId, this.model);
  }

  /** A row read ahead in this request is stale once the artifact is written. */
  protected forgetPrefetched(id: string): void {
    this.database.requestScope()?.prefetched?.delete(prefetchKey(this.model, this.ids.key(id)));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!storableId(uid)) return undefined;
    const row = (await this.live().andWhere({ uid }).first('payload', 'consumed_at')) as Row | undefined;
    return row && this.ids.fromStored(rowPayload(row));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!storableId(userCode)) return undefined;
    const row = (await this.live()
      .andWhere({ user_code: this.ids.key(userCode) })
      .first('payload', 'consumed_at')) as Row | undefined;
    return row && this.ids.fromStored(rowPayload(row));
  }

  async consume(id: string): Promise<void> {
    this.forgetPrefetched(id);
    const updated = await this.database
      .db()(TABLE)
      .where({ model: this.model, id: this.ids.key(id) })
      .whereNull('consumed_at')
      .update({ consumed_at: new Date() });
    if (updated !== 1) throw alreadyConsumed(this.model);
  }

  async destroy(id: string): Promise<void> {
    if (!storableId(id)) return;
    this.forgetPrefetched(id);
    await this.database
      .db()(TABLE)
      .where({ model: this.model, id: this.ids.key(id) })
      .delete();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.database.requestScope()?.prefetched?.clear();
    await this.database.db()(TABLE).where({ model: this.model, grant_id: grantId }).delete();
  }
}

/** Deletes expired rows in small batches so the sweep never holds long locks. */
export async function sweepExpired(database: Database, batchSize = 1000): Promise<number> {
  const res = await database.knex.raw(
    `delete from ${TABLE} where ctid in (select ctid from ${TABLE} where expires_at < now() limit ?)`,
    [batchSize],
  );
  return (
    (res as { rowCount?: number; affectedRows?: number }).rowCount ??
    (res as { affectedRows?: number }).affectedRows ??
    0
  );
}
