import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import knexPkg, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { PGlite } from '@electric-sql/pglite';
import { GatehouseError } from '../domain/errors.js';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.js';
import { migrationSource } from './migration-source.js';

const { knex } = knexPkg;

export type Sql = Knex;

/** How long a query may wait for a pool connection before failing fast (503, not an unbounded queue). */
const ACQUIRE_TIMEOUT_MS = 5000;

/**
 * The SQL store: PostgreSQL through pg, or PGlite (real Postgres in WASM) on disk.
 * `db()` returns the transaction bound to the current async context, when one is open,
 * so a multi-step write (a refresh-token rotation) commits or rolls back as one unit
 * and PGlite's single connection never deadlocks against itself.
 */
export class Database {
  readonly #scope = new AsyncLocalStorage<UnitStore>();
  private constructor(readonly knex: Knex, readonly kind: 'postgres' | 'pglite', private readonly lock?: DirectoryLock) {}

  static async open(options: { databaseUrl?: string; dataDir: string; poolMax: number }): Promise<Database> {
    if (options.databaseUrl) {
      const k = knex({
        client: 'pg',
        connection: options.databaseUrl,
        pool: { min: 0, max: options.poolMax },
        acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
      });
      return new Database(k, 'postgres');
    }
    const dir = path.resolve(options.dataDir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lock = acquireDirectoryLock(dir);
    try {
      const pglite = await PGlite.create(path.join(dir, 'pg'));
      const k = knex({ client: ClientPgLite as unknown as typeof knexPkg.Client, connection: { pglite } as never, acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS });
      return new Database(k, 'pglite', lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** The query builder for the current context: the open transaction, or the pool. */
  db(): Knex {
    return this.#scope.getStore()?.trx ?? this.knex;
  }

  /**
   * Runs `fn` in a context where `currentTransaction()` opens a transaction that every later
   * query in the same context joins. It commits when `fn` says so, and rolls back otherwise.
   */
  async withUnitOfWork<T>(fn: (unit: UnitOfWork) => Promise<T>): Promise<T> {
    const store: UnitStore = { notes: new Map() };
    const unit: UnitOfWork = {
      commit: async () => { const trx = store.trx; store.trx = undefined; await trx?.commit(); },
      rollback: async () => { const trx = store.trx; store.trx = undefined; await trx?.rollback(); },
    };
    return this.#scope.run(store, async () => {
      try {
        return await fn(unit);
      } finally {
        if (store.trx) await unit.rollback().catch(() => undefined);
      }
    });
  }

  /** Per-request notes of the current unit of work (adapters use them to coordinate); undefined outside one. */
  unitNotes(): Map<string, unknown> | undefined {
    return this.#scope.getStore()?.notes;
  }

  /** The transaction of the current unit of work, opening it if needed; undefined outside one. */
  async currentTransaction(): Promise<Knex.Transaction | undefined> {
    const store = this.#scope.getStore();
    if (!store) return undefined;
    if (!store.trx) store.trx = await this.knex.transaction();
    return store.trx;
  }

  async migrate(): Promise<string[]> {
    const [, applied] = await this.knex.migrate.latest({ migrationSource, tableName: 'knex_migrations' });
    return applied as string[];
  }

  async ping(): Promise<void> {
    await this.knex.raw('select 1');
  }

  async close(): Promise<void> {
    await this.knex.destroy();
    this.lock?.release();
  }
}

interface UnitStore {
  trx?: Knex.Transaction;
  notes: Map<string, unknown>;
}

export interface UnitOfWork {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Wraps a driver error so callers see a typed error; the original stays as `cause` for the log. */
export function storageUnavailable(err: unknown): GatehouseError {
  return new GatehouseError('service_unavailable', 'storage unavailable', { cause: err });
}
