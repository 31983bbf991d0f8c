import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { Conflict, StorageUnavailable, UNAVAILABLE_BODY } from '../../src/domain/errors.js';
import { jsonErrors } from '../../src/http/middleware/error-handler.js';
import { Database } from '../../src/storage/database.js';
import { createRedis } from '../../src/storage/redis.js';
import { SqlUserRepository } from '../../src/storage/repositories/users-repository.js';
import { FaultProxy } from '../faults/support/fault-proxy.js';
import { backends, createTestStorage, openTestDatabase, PG_ADMIN_URL, type TestStorage } from '../support/backends.js';

/**
 * Driver errors are classified once, in storage: whatever knex, pg, PGlite or ioredis throws
 * leaves storage as StorageUnavailable (an outage) or Conflict (a unique key), with the driver
 * error as `cause`, so the layers above decide with `instanceof` alone.
 */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
};

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const newUser = (email: string) => ({ id: randomUUID(), email, name: null, emailVerified: false, passwordHash: null });

for (const backend of backends()) {
  describe(`storage errors leave storage typed (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;
    before(async () => {
      storage = await createTestStorage(backend);
      database = await openTestDatabase(storage, 2);
    });
    after(async () => {
      await database?.close().catch(() => undefined);
      await storage?.drop();
    });

    it('a unique violation is a Conflict naming its constraint, in and out of a transaction', async () => {
      const email = `dup-${randomUUID()}@example.test`;
      await database.db()('users').insert({ id: randomUUID(), email });
      const plain = await rejection(database.db()('users').insert({ id: randomUUID(), email }));
      assert.ok(plain instanceof Conflict, String(plain));
      assert.equal(plain.status, 409);
      assert.equal((plain.cause as { code?: string }).code, '23505');
      assert.match(plain.constraint ?? '', /email/);
      assert.doesNotMatch(plain.message, /insert|users/i, 'the SQL stays in the cause');
      const inTransaction = await rejection(
        database.db().transaction(async (trx) => {
          await trx('users').insert({ id: randomUUID(), email });
        }),
      );
      assert.ok(inTransaction instanceof Conflict, String(inTransaction));
    });

    it('a repository rethrows the Conflict with the rule it broke', async () => {
      const users = new SqlUserRepository(database);
      const email = `repo-${randomUUID()}@example.test`;
      await users.insert(newUser(email));
      const err = await rejection(users.insert(newUser(email)));
      assert.ok(err instanceof Conflict, String(err));
      assert.equal(err.message, 'a user with this email already exists');
    });

    it('a bug stays a bug (not an outage, not a conflict)', async () => {
      const err = await rejection(database.db().raw('select * from no_such_table'));
      assert.ok(!(err instanceof StorageUnavailable) && !(err instanceof Conflict), String(err));
    });
  });
}

describe('outages leave storage as StorageUnavailable', () => {
  let port: number;
  const proxy = (() => {
    const url = new URL(PG_ADMIN_URL);
    return new FaultProxy({ host: url.hostname, port: Number(url.port || 5432) }, 'postgres');
  })();
  before(async () => {
    port = await closedPort();
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
  });

  it('PostgreSQL refusing connections', async () => {
    const database = await Database.open({
      databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      dataDir: '',
      poolMax: 1,
    });
    try {
      const err = await rejection(database.ping());
      assert.ok(err instanceof StorageUnavailable, String(err));
      assert.equal(err.status, 503);
      assert.ok(err.cause, 'the driver error is kept as cause');
    } finally {
      await database.close();
    }
  });

  it('PostgreSQL answering nothing (a query timeout)', async () => {
    const url = new URL(PG_ADMIN_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    const database = await Database.open({ databaseUrl: url.toString(), dataDir: '', poolMax: 1, queryTimeoutMs: 300 });
    try {
      proxy.pass();
      await database.ping();
      proxy.blackhole();
      const err = await rejection(database.ping());
      assert.ok(err instanceof StorageUnavailable, String(err));
    } finally {
      proxy.pass();
      await database.close().catch(() => undefined);
    }
  });

  it('a closed database (a request still running at shutdown)', async () => {
    const database = await Database.open({ databaseUrl: `${PG_ADMIN_URL}`, dataDir: '', poolMax: 1 });
    await database.close();
    const err = await rejection(database.ping());
    assert.ok(err instanceof StorageUnavailable, String(err));
  });

  it('Redis refusing connections', async () => {
    const redis = createRedis(`redis://127.0.0.1:${port}`);
    redis.on('error', () => undefined);
    try {
      const err = await rejection(redis.get('anything'));
      assert.ok(err instanceof StorageUnavailable, String(err));
      assert.ok(err.cause instanceof Error);
    } finally {
      redis.disconnect();
    }
  });

  it('every JSON app answers an outage with the one 503 body', async () => {
    const app = new Koa();
    app.use(jsonErrors);
    app.use(() => {
      throw new StorageUnavailable({ cause: new Error('connect ECONNREFUSED') });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '2');
      assert.deepEqual(await res.json(), UNAVAILABLE_BODY);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
