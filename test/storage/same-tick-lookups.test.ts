import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Database } from '../../src/storage/database.js';
import { RedisAdapter } from '../../src/storage/oidc-adapters/redis-adapter.js';
import { SqlAdapter } from '../../src/storage/oidc-adapters/sql-adapter.js';
import { TokenSealer } from '../../src/storage/oidc-adapters/token-sealer.js';
import type { OidcAdapter } from '../../src/storage/oidc-adapters/types.js';
import {
  backends,
  createTestStorage,
  openTestDatabase,
  TEST_REDIS_URL,
  type TestStorage,
} from '../support/backends.js';

/**
 * oidc-provider looks an introspected token up under several models at once. On every store the
 * lookups of one id made together are one read (one SELECT, one MGET), and each model still gets
 * exactly its own artifact.
 */
for (const backend of backends()) {
  const stores = backend === 'postgres' ? (['sql', 'redis'] as const) : (['sql'] as const);
  for (const store of stores) {
    describe(`lookups of one token under several models (${backend}, ${store})`, () => {
      let storage: TestStorage;
      let database: Database;
      let redis: Redis | undefined;
      let monitor: Redis | undefined;
      let prefix: string;
      /** Reads sent to the store since the last reset: SQL statements, or Redis commands on our keys. */
      const reads: string[] = [];
      const adapter: Record<string, OidcAdapter> = {};

      before(async () => {
        storage = await createTestStorage(backend);
        database = await openTestDatabase(storage);
        const sealer = new TokenSealer(randomBytes(32));
        prefix = `${storage.env.REDIS_KEY_PREFIX ?? 'x:'}lookups:`;
        if (store === 'redis') {
          redis = new Redis(TEST_REDIS_URL);
          monitor = await new Redis(TEST_REDIS_URL).monitor();
          monitor.on('monitor', (_time: string, args: string[]) => {
            if (args.slice(1).some((a) => a.startsWith(prefix))) reads.push(args[0]!.toLowerCase());
          });
        } else {
          database.knex.on('query', (q: { sql: string }) => {
            if (/^\s*select/i.test(q.sql)) reads.push(q.sql);
          });
        }
        for (const model of ['AccessToken', 'ClientCredentials', 'RefreshToken']) {
          adapter[model] =
            store === 'redis'
              ? new RedisAdapter(redis!, prefix, model, sealer)
              : new SqlAdapter(database, model, sealer);
        }
      });
      after(async () => {
        monitor?.disconnect();
        await redis?.quit();
        await database?.close();
        await storage?.drop();
      });

      /** MONITOR reports asynchronously: wait until the count settles. */
      async function readsAfter(run: () => Promise<unknown>): Promise<string[]> {
        reads.length = 0;
        await run();
        if (store === 'redis') await new Promise((r) => setTimeout(r, 150));
        return [...reads];
      }

      const token = () => randomBytes(32).toString('base64url');

      it('finds the artifact under its own model only, with one read for all the models asked together', async () => {
        const id = token();
        await adapter.ClientCredentials!.upsert(id, { kind: 'ClientCredentials', jti: id, clientId: 'c1' }, 60);
        let found: unknown[] = [];
        const sent = await readsAfter(async () => {
          found = await Promise.all([
            adapter.AccessToken!.find(id),
            adapter.ClientCredentials!.find(id),
            adapter.RefreshToken!.find(id),
          ]);
        });
        assert.equal(found[0], undefined);
        assert.deepEqual(found[1], { kind: 'ClientCredentials', jti: id, clientId: 'c1' });
        assert.equal(found[2], undefined);
        assert.equal(sent.length, 1, `one read, got: ${sent.join(' | ')}`);
      });

      it('keeps different tokens asked for in the same tick apart, each with its consumed state', async () => {
        const [a, b] = [token(), token()];
        await adapter.AccessToken!.upsert(a, { kind: 'AccessToken', jti: a, accountId: 'alice' }, 60);
        await adapter.AccessToken!.upsert(b, { kind: 'AccessToken', jti: b, accountId: 'bob' }, 60);
        await adapter.AccessToken!.consume(b);
        const [foundA, foundB, again] = await Promise.all([
          adapter.AccessToken!.find(a),
          adapter.AccessToken!.find(b),
          adapter.AccessToken!.find(a),
        ]);
        assert.equal(foundA?.accountId, 'alice');
        assert.equal(foundA?.consumed, undefined);
        assert.equal(foundB?.accountId, 'bob');
        assert.equal(typeof foundB?.consumed, 'number');
        assert.deepEqual(again, foundA);
      });

      it('reads a lookup on its own as before, and finds nothing once the artifact is gone', async () => {
        const id = token();
        await adapter.AccessToken!.upsert(id, { kind: 'AccessToken', jti: id }, 60);
        const sent = await readsAfter(async () => assert.equal((await adapter.AccessToken!.find(id))?.jti, id));
        assert.equal(sent.length, 1);
        await adapter.AccessToken!.destroy(id);
        assert.deepEqual(await Promise.all([adapter.AccessToken!.find(id), adapter.ClientCredentials!.find(id)]), [
          undefined,
          undefined,
        ]);
      });
    });
  }
}
