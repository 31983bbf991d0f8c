import type knexPkg from 'knex';
import type { PGliteWorkerConnection } from './pglite-worker-connection.js';

type KnexClientClass = typeof knexPkg.Client;

/**
 * How many connections knex's pool holds on embedded PostgreSQL: sessions of the one worker
 * (PGliteWorkerConnection.session). With one, the worker idled from each answer until this thread
 * got round to sending the next statement (a busy event loop answers late); with several, the
 * statements of concurrent requests wait in the worker's queue instead. A transaction still has
 * PGlite to itself (the worker holds the other sessions' statements until it ends).
 */
export const PGLITE_SESSIONS = 8;

/**
 * knex-pglite (one connection: the PGlite instance) with a pool of sessions on the worker
 * connection instead. Statements, SQL dialect and results are knex-pglite's.
 */
export function withSessions(ClientPgLite: KnexClientClass): KnexClientClass {
  return class PGliteSessionClient extends ClientPgLite {
    override getPoolSettings(poolConfig: unknown) {
      return super.getPoolSettings({ ...(poolConfig as object), min: 1, max: PGLITE_SESSIONS });
    }

    async _acquireOnlyConnection(): Promise<unknown> {
      const pglite = (this as unknown as { pglite: PGliteWorkerConnection }).pglite;
      await pglite.waitReady;
      return pglite.session();
    }

    /** A session holds nothing to close; Database.close closes PGlite (and its thread). */
    override async destroyRawConnection(): Promise<void> {}
  } as unknown as KnexClientClass;
}
