import type { Database } from '../database.js';

/** One oidc_models row as written by SqlAdapter.upsert. */
export interface ModelRow {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: Date | null;
}

const TABLE = 'oidc_models';
const MERGED = ['payload', 'grant_id', 'uid', 'user_code', 'expires_at'] as const;
/** Rows per statement at most (7 bindings each, well inside PostgreSQL's 65,535). */
const MAX_ROWS = 500;

interface Waiting {
  row: ModelRow;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for the embedded store. PGlite runs one statement at a time, and a statement's
 * fixed cost (parse, plan, commit, the WASM round trip) is most of a one-row insert: measured
 * ~270 µs for one row and ~100 µs per row in a ten-row insert. So while one write is running,
 * the upserts that arrive queue up and go as one multi-row INSERT … ON CONFLICT when it ends.
 * Under no load a write goes at once, alone; nothing waits for a timer.
 *
 * Each caller's promise settles when the statement holding its row has committed, so "upsert
 * resolved" still means "stored". A group that fails is written again row by row, so only the
 * row at fault (or every row, when the store is down) fails. The same key twice in one group keeps the later row
 * (ON CONFLICT cannot update a row twice in one statement); both callers settle with it.
 */
export class GroupedUpserts {
  #queue: Waiting[] = [];
  #writing = false;

  constructor(private readonly database: Database) {}

  write(row: ModelRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ row, resolve, reject });
      if (!this.#writing) this.#drain();
    });
  }

  #drain(): void {
    const group = this.#queue.splice(0, MAX_ROWS);
    if (!group.length) {
      this.#writing = false;
      return;
    }
    this.#writing = true;
    this.#writeGroup(group).finally(() => this.#drain());
  }

  async #writeGroup(group: Waiting[]): Promise<void> {
    const rows = new Map<string, ModelRow>();
    for (const w of group) rows.set(`${w.row.model}\u0000${w.row.id}`, w.row);
    try {
      await this.#insert([...rows.values()]);
      for (const w of group) w.resolve();
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
      // One row's failure must not fail its neighbours: each row again, on its own.
      for (const w of group) {
        try {
          await this.#insert([w.row]);
          w.resolve();
        } catch (own) {
          w.reject(own);
        }
      }
    }
  }

  #insert(rows: ModelRow[]): Promise<unknown> {
    return Promise.resolve(
      this.database
        .db()(TABLE)
        .insert(rows)
        .onConflict(['model', 'id'])
        .merge([...MERGED]),
    );
  }
}
