import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import knexPkg, { type Knex } from 'knex';
import { ClassifyingPgClient, classifyingPgLiteClient } from './classifying-knex-client.js';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.js';
import { migrationSource } from './migration-source.js';
import { PGliteWorkerConnection, type PGliteWorkerEvents } from './pglite/pglite-worker-connection.js';
import type { RequestScope } from './request-scope.js';
import { ensurePrivateDirectory } from './private-directory.js';

const { knex } = knexPkg;

export type Sql = Knex;

/** How long a query may wait for a pool connection before failing fast (503, not an unbounded queue). */
const ACQUIRE_TIMEOUT_MS = 5000;
/** How long opening a PostgreSQL connection may take. */
const CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
/** knex's record of applied migrations. */
const MIGRATIONS_TABLE = 'knex_migrations';
/** Embedded PostgreSQL's shared_buffers (its own default is 128MB); see Database.open. */
const PGLITE_SHARED_BUFFERS = '16MB';

/**
 * The SQL store: PostgreSQL through pg, or PGlite (real Postgres in WASM) on disk.
 * A request scope (AsyncLocalStorage) carries per-request notes between storage adapters, e.g.
 * the refresh token a rotation consumes, so the rotation can be written as one statement.
 */
export class Database {
  readonly #scope = new AsyncLocalStorage<RequestScope>();
  private constructor(
    readonly knex: Knex,
    readonly kind: 'postgres' | 'pglite',
    private readonly embedded?: { lock: DirectoryLock; pglite: PGliteWorkerConnection },
  ) {}

  static async open(options: {
    databaseUrl?: string;
    dataDir: string;
    poolMax: number;
    queryTimeoutMs?: number;
    /** Embedded mode: told when PGlite's worker thread ends unasked, and when a new one has it open again. */
    embeddedEvents?: Pick<PGliteWorkerEvents, 'onFailure' | 'onRestarted'>;
  }): Promise<Database> {
    if (options.databaseUrl) {
      const k = knex({
        // Every failure leaves storage as a typed error (storage-errors.ts).
        client: ClassifyingPgClient,
        // The log gets the statement without its bindings (token ids, hashes).
        compileSqlOnError: false,
        connection: {
          connectionString: options.databaseUrl,
          // A hung server or network (no answer, no reset) fails the query instead of holding
          // the request and its pooled connection forever; it is answered with 503.
          query_timeout: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          keepAlive: true,
        } as never,
        pool: { min: 0, max: options.poolMax },
        acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
      });
      return new Database(k, 'postgres');
    }
    const dir = path.resolve(options.dataDir);
    ensurePrivateDirectory(dir);
    const lock = acquireDirectoryLock(dir);
    let pglite: PGliteWorkerConnection | undefined;
    try {
      // Only embedded mode loads knex-pglite (see classifyingPgLiteClient). PGlite itself runs on a
      // worker thread (pglite/pglite.worker.ts): its statements, in WASM, keep this thread's event
      // loop busy otherwise (a third of the CPU of a client_credentials request).
      const clientLoad = classifyingPgLiteClient();
      // PostgreSQL's 128 MB of shared buffers is most of an embedded server's memory (the WASM
      // heap touches all of it at start: ~350 MB resident against ~225 MB with 16 MB), and an
      // embedded database is small; the operating system's page cache still holds its files.
      // On the command line, so the data directory's postgresql.conf is left as initdb wrote it.
      pglite = new PGliteWorkerConnection(
        { dataDir: path.join(dir, 'pg'), extraStartParams: ['-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`] },
        options.embeddedEvents,
      );
      const [client] = await Promise.all([clientLoad, pglite.waitReady]);
      const k = knex({
        client,
        connection: { pglite } as never,
        acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
        compileSqlOnError: false,
      });
      return new Database(k, 'pglite', { lock, pglite });
    } catch (err) {
      await pglite?.close().catch(() => undefined);
      lock.release();
      throw err;
    }
  }

  /** The query builder. */
  db(): Knex {
    return this.knex;
  }

  /** Runs `fn` with a fresh request scope that storage adapters use to coordinate. */
  withRequestScope<T>(fn: () => Promise<T>, init: Partial<RequestScope> = {}): Promise<T> {
    return this.#scope.run({ refresh: {}, ...init }, fn);
  }

  /** The current request scope; undefined outside one. */
  requestScope(): RequestScope | undefined {
    return this.#scope.getStore();
  }

  /**
   * Applies pending migrations; returns their names. When the database has applied exactly the
   * migrations this version ships (every start but the first after an upgrade), that is one
   * SELECT and nothing else: knex's full run imports every migration module and takes and frees
   * its lock in a transaction, ~10 statements (~0.4 s on a freshly opened PGlite). Any difference,
   * a missing table or an error goes the full way, so knex still applies what is pending and
   * still refuses a database migrated past what this version knows ("migration directory is corrupt").
   */
  async migrate(): Promise<string[]> {
    if (await this.#upToDate()) return [];
    const [, applied] = await this.knex.migrate.latest({ migrationSource, tableName: MIGRATIONS_TABLE });
    return applied as string[];
  }

  async #upToDate(): Promise<boolean> {
    const names = (await migrationSource.getMigrations([])).map((file) => migrationSource.getMigrationName(file));
    let rows: { name: string }[];
    try {
      rows = await this.knex(MIGRATIONS_TABLE).select('name');
    } catch {
      return false; // no table yet (a new database), or unreachable: the full run reports it
    }
    const applied = new Set(rows.map((row) => row.name));
    return applied.size === rows.length && applied.size === names.length && names.every((n) => applied.has(n));
  }

  /** Pool counts for metrics (knex's tarn pool; PGlite's holds sessions of its worker); undefined when closed. */
  poolStats(): { used: number; free: number; pending: number } | undefined {
    const pool = (this.knex.client as { pool?: TarnPool }).pool;
    if (!pool) return undefined;
    return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() };
  }

  async ping(): Promise<void> {
    await this.knex.raw('select 1');
  }

  async close(): Promise<void> {
    await this.knex.destroy();
    // knex closes PGlite only if its pool ever opened the connection: close it (idempotent) before
    // letting go of the directory, so the worker thread has ended and no other process shares it.
    await this.embedded?.pglite.close();
    this.embedded?.lock.release();
  }
}

/** The part of tarn's Pool (knex's pool) read for metrics. */
interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}
