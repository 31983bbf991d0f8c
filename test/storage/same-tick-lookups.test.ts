import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Database } from '../../src/storage/database.js';
import { RedisAdapter } from '../../src/storage/oidc-adapters/redis-adapter.js';
import { RefreshRotations, RefreshTokenAdapter } from '../../src/storage/oidc-adapters/refresh-token-adapter.js';
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
          // monitor() opens a connection of its own beside `redis`.
          monitor = await redis.monitor();
          // Reads only: MONITOR reports asynchronously, so a write made just before a count can
          // arrive after it was reset.
          monitor.on('monitor', (_time: string, args: string[]) => {
            const command = args[0]!.toLowerCase();
            if (/^(m?get|exists)$/.test(command) && args.slice(1).some((a) => a.startsWith(prefix)))
              reads.push(command);
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
        // Earlier commands' reports may still be on their way: let them land before counting.
        if (store === 'redis') await new Promise((r) => setTimeout(r, 150));
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

/** A refresh grant reads the token, then its grant: in a token request that is one statement. */
for (const backend of backends()) {
  describe(`a refresh token read with its grant (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;
    let refreshTokens: RefreshTokenAdapter;
    let grants: SqlAdapter;
    const selects: string[] = [];

    before(async () => {
      storage = await createTestStorage(backend);
      database = await openTestDatabase(storage);
      const sealer = new TokenSealer(randomBytes(32));
      refreshTokens = new RefreshTokenAdapter(database, sealer, new RefreshRotations(database, sealer));
      grants = new SqlAdapter(database, 'Grant', sealer);
      database.knex.on('query', (q: { sql: string }) => {
        if (/^\s*select/i.test(q.sql)) selects.push(q.sql);
      });
    });
    after(async () => {
      await database?.close();
      await storage?.drop();
    });

    async function tokenOfGrant(grantPayload: Record<string, unknown> | undefined) {
      const grantId = randomBytes(16).toString('base64url');
      const token = randomBytes(32).toString('base64url');
      if (grantPayload) await grants.upsert(grantId, { jti: grantId, kind: 'Grant', ...grantPayload }, 600);
      await refreshTokens.upsert(token, { jti: token, kind: 'RefreshToken', grantId, clientId: 'c1' }, 600);
      return { grantId, token };
    }

    it('answers the grant lookup from the token statement, once', async () => {
      const { grantId, token } = await tokenOfGrant({ accountId: 'alice', clientId: 'c1' });
      await database.withRequestScope(async () => {
        selects.length = 0;
        assert.equal((await refreshTokens.find(token))?.grantId, grantId);
        assert.equal((await grants.find(grantId))?.accountId, 'alice');
        assert.equal(selects.length, 1, selects.join(' | '));
        // Used once: a second lookup reads the store again.
        assert.equal((await grants.find(grantId))?.accountId, 'alice');
        assert.equal(selects.length, 2);
      });
    });

    it('answers "no grant" when the grant is gone, and reads a grant written since afresh', async () => {
      const { grantId, token } = await tokenOfGrant(undefined);
      await database.withRequestScope(async () => {
        selects.length = 0;
        assert.equal((await refreshTokens.find(token))?.grantId, grantId);
        assert.equal(await grants.find(grantId), undefined);
        assert.equal(selects.length, 1);
      });
      await database.withRequestScope(async () => {
        await refreshTokens.find(token);
        await grants.upsert(grantId, { jti: grantId, kind: 'Grant', accountId: 'bob' }, 600);
        assert.equal((await grants.find(grantId))?.accountId, 'bob');
      });
    });

    it('reads the token alone outside a token request', async () => {
      const { grantId, token } = await tokenOfGrant({ accountId: 'carol' });
      selects.length = 0;
      assert.equal((await refreshTokens.find(token))?.grantId, grantId);
      assert.equal((await grants.find(grantId))?.accountId, 'carol');
      assert.equal(selects.length, 2);
    });
  });
}

/** Embedded: writes that queue behind a running one are one statement, and each still settles on its own. */
describe('grouped writes on the embedded store (pglite)', () => {
  let storage: TestStorage;
  let database: Database;
  let tokens: SqlAdapter;
  const inserts: string[] = [];

  before(async () => {
    storage = await createTestStorage('pglite');
    database = await openTestDatabase(storage);
    tokens = new SqlAdapter(database, 'AccessToken', new TokenSealer(randomBytes(32)));
    database.knex.on('query', (q: { sql: string }) => {
      if (/^\s*insert into "oidc_models"/i.test(q.sql)) inserts.push(q.sql);
    });
  });
  after(async () => {
    await database?.close();
    await storage?.drop();
  });

  const id = () => randomBytes(32).toString('base64url');

  it('stores every row of writes made together in fewer statements than rows', async () => {
    const ids = Array.from({ length: 20 }, id);
    inserts.length = 0;
    await Promise.all(ids.map((t, i) => tokens.upsert(t, { jti: t, kind: 'AccessToken', n: i }, 60)));
    assert.ok(inserts.length < ids.length / 2, `${inserts.length} statements for ${ids.length} rows`);
    const found = await Promise.all(ids.map((t) => tokens.find(t)));
    assert.deepEqual(
      found.map((f) => f?.n),
      ids.map((_, i) => i),
    );
  });

  it('keeps the later of two writes of one token in a group', async () => {
    const [first, t] = [id(), id()];
    await Promise.all([
      tokens.upsert(first, { jti: first, kind: 'AccessToken' }, 60),
      tokens.upsert(t, { jti: t, kind: 'AccessToken', v: 1 }, 60),
      tokens.upsert(t, { jti: t, kind: 'AccessToken', v: 2 }, 60),
    ]);
    assert.equal((await tokens.find(t))?.v, 2);
  });

  it('fails only the write at fault, not the others of its group', async () => {
    const ids = [id(), id(), id(), id()];
    // jsonb refuses U+0000: the third write cannot be stored.
    const results = await Promise.allSettled(
      ids.map((t, i) => tokens.upsert(t, { jti: t, kind: 'AccessToken', bad: i === 2 ? '\u0000' : 'ok' }, 60)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(await tokens.find(ids[2]!), undefined);
    assert.equal((await tokens.find(ids[3]!))?.bad, 'ok');
  });
});
