import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Redis } from 'ioredis';
import { isStorageUnavailable } from '../../src/storage/storage-errors.js';
import { FaultProxy } from '../faults/support/fault-proxy.js';
import { PG_ADMIN_URL } from '../support/backends.js';

/**
 * The errors the drivers really raise when a store cannot be reached count as "unavailable"
 * (answered 503, retried), so an outage never surfaces as a 500.
 */
describe('storage outage errors from the real drivers', () => {
  let pgProxy: FaultProxy;
  let closedPort: number;
  before(async () => {
    const url = new URL(PG_ADMIN_URL);
    pgProxy = new FaultProxy({ host: url.hostname, port: Number(url.port || 5432) }, 'postgres');
    await pgProxy.start();
    pgProxy.blackhole();
    // A port with nothing listening: take one, then close it.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closedPort = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
  });
  after(async () => {
    await pgProxy?.stop();
  });

  const failure = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      return err;
    }
    throw new Error('expected a failure');
  };

  it('PostgreSQL: connect timeout (black hole), refused connection, query read timeout', async () => {
    const url = new URL(PG_ADMIN_URL);
    const connectTimeout = await failure(() =>
      new pg.Client({
        host: '127.0.0.1',
        port: pgProxy.port,
        user: url.username || 'postgres',
        connectionTimeoutMillis: 300,
      }).connect(),
    );
    assert.match((connectTimeout as Error).message, /timeout expired/);
    assert.ok(isStorageUnavailable(connectTimeout), String(connectTimeout));
    const refused = await failure(() =>
      new pg.Client({ host: '127.0.0.1', port: closedPort, user: 'postgres' }).connect(),
    );
    assert.ok(isStorageUnavailable(refused), String(refused));

    pgProxy.pass();
    const client = new pg.Client({
      host: '127.0.0.1',
      port: pgProxy.port,
      user: url.username || 'postgres',
      database: url.pathname.slice(1) || 'postgres',
      query_timeout: 300,
    });
    client.on('error', () => undefined);
    await client.connect();
    pgProxy.blackhole();
    const readTimeout = await failure(() => client.query('select 1'));
    assert.ok(isStorageUnavailable(readTimeout), String(readTimeout));
    pgProxy.pass();
    await client.end().catch(() => undefined);
  });

  it('Redis: refused connection, with retries off', async () => {
    const redis = new Redis({
      host: '127.0.0.1',
      port: closedPort,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const refused = await failure(() => redis.connect());
    assert.ok(isStorageUnavailable(refused), String(refused));
    redis.disconnect();
  });

  it('a bug is not an outage', () => {
    assert.equal(isStorageUnavailable(new TypeError("Cannot read properties of null (reading 'stream')")), false);
    assert.equal(isStorageUnavailable(Object.assign(new Error('duplicate key value'), { code: '23505' })), false);
  });
});
