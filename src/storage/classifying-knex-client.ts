import { createRequire } from 'node:module';
import type knexPkg from 'knex';
import { withSessions } from './pglite/session-client.js';
import { classifyStorageError } from './storage-errors.js';

type KnexClientClass = typeof knexPkg.Client;

/**
 * A knex client whose every failure leaves storage classified (storage-errors.ts). `query` is
 * where knex sends each statement, in or out of a transaction (a transaction's client is made
 * from this class's prototype), after it has put the SQL in the driver error's message for the
 * log; `acquireConnection` is where a pool timeout or a refused connection surfaces.
 */
function classifying(Base: KnexClientClass): KnexClientClass {
  return class ClassifyingClient extends Base {
    override async query(connection: unknown, queryParam: unknown): Promise<unknown> {
      try {
        return await super.query(connection, queryParam);
      } catch (err) {
        throw classifyStorageError(err);
      }
    }

    override async acquireConnection(): Promise<unknown> {
      try {
        return await super.acquireConnection();
      } catch (err) {
        throw classifyStorageError(err);
      }
    }
  };
}

// knex resolves `client: 'pg'` to this class itself; it has no typed export of its own.
const ClientPg = createRequire(import.meta.url)('knex/lib/dialects/postgres/index.js') as KnexClientClass;

/** PostgreSQL through pg, failures classified. */
export const ClassifyingPgClient = classifying(ClientPg);
/**
 * PGlite (on its worker thread, through a pool of sessions: pglite/session-client.ts), failures
 * classified. Loaded on demand: knex-pglite (and PGlite's JavaScript behind it) cost time and
 * memory at start-up, and a PostgreSQL deployment never needs them.
 */
export async function classifyingPgLiteClient(): Promise<KnexClientClass> {
  const { default: ClientPgLite } = await import('knex-pglite');
  return classifying(withSessions(ClientPgLite as unknown as KnexClientClass));
}
