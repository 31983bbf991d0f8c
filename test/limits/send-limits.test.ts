import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SendLimiter } from '../../src/domain/mail/send-limiter.js';
import type { Database } from '../../src/storage/database.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';
import { redisSendLimiter, sqlSendLimiter, sweepRateLimits } from '../../src/storage/send-limits.js';
import { backends, createTestStorage, openTestDatabase, type TestStorage } from '../support/backends.js';

/** The limits in src/storage/send-limits.ts: per hour, per kind. */
const PER_ADDRESS = 5;
const PER_CLIENT = 20;
const HOUR = 3600;

type Store = 'redis' | 'pglite' | 'postgres';
const stores: Store[] = [...backends(), ...(backends().includes('postgres') ? (['redis'] as const) : [])];

for (const store of stores) {
  describe(`send limits on rate-limiter-flexible (${store})`, () => {
    let storage: TestStorage;
    let database: Database | undefined;
    let redis: Redis | undefined;
    /** Two limiters on one store: two instances of the server. */
    let limiters: [SendLimiter, SendLimiter];
    before(async () => {
      storage = await createTestStorage(store === 'redis' ? 'postgres' : store);
      if (store === 'redis') {
        redis = createRedis(storage.env.REDIS_URL!);
        const prefix = storage.env.REDIS_KEY_PREFIX!;
        limiters = [redisSendLimiter(redis, prefix), redisSendLimiter(redis, prefix)];
      } else {
        database = await openTestDatabase(storage);
        limiters = [sqlSendLimiter(database), sqlSendLimiter(database)];
      }
    });
    after(async () => {
      await redis?.quit();
      await database?.close();
      await storage?.drop();
    });

    it(`allows ${PER_ADDRESS} per address and hour, across instances; then 429-style Retry-After`, async () => {
      const email = `bomb-${store}@example.test`;
      for (let i = 0; i < PER_ADDRESS; i++) {
        const verdict = await limiters[i % 2]!.consume(
          'reset_password',
          i % 2 ? email.toUpperCase() : email,
          `10.0.0.${i}`,
        );
        assert.deepEqual(verdict, { allowed: true }, `send ${i + 1}`);
      }
      const refused = await limiters[0].consume('reset_password', ` ${email} `, '10.0.1.1');
      assert.equal(refused.allowed, false);
      const retryAfter = refused.allowed ? 0 : refused.retryAfterSeconds;
      assert.ok(retryAfter > HOUR - 60 && retryAfter <= HOUR, `Retry-After ${retryAfter}`);
      // Each kind has its own allowance; another address is not affected.
      assert.deepEqual(await limiters[1].consume('verify_email', email, '10.0.1.1'), { allowed: true });
      assert.deepEqual(await limiters[1].consume('reset_password', `other-${email}`, '10.0.1.2'), { allowed: true });
    });

    it(`allows ${PER_CLIENT} per client address and hour, whatever the addresses`, async () => {
      const ip = store === 'redis' ? '2001:db8::1' : '192.0.2.9';
      for (let i = 0; i < PER_CLIENT; i++) {
        const verdict = await limiters[i % 2]!.consume('sign_in_code', `n${i}-${store}@example.test`, ip);
        assert.equal(verdict.allowed, true, `send ${i + 1}`);
      }
      const refused = await limiters[0].consume('sign_in_code', `fresh-${store}@example.test`, ip);
      assert.equal(refused.allowed, false);
      assert.deepEqual(await limiters[0].consume('sign_in_code', `fresh-${store}@example.test`, '192.0.2.10'), {
        allowed: true,
      });
    });

    if (store !== 'redis')
      it('the sweep deletes expired windows only', async () => {
        const db = database!.db();
        const before = Number((await db('rate_limits').count({ n: '*' }))[0]!.n);
        assert.ok(before > 0);
        await sweepRateLimits(database!);
        assert.equal(Number((await db('rate_limits').count({ n: '*' }))[0]!.n), before, 'nothing expired yet');
        await sweepRateLimits(database!, Date.now() + (HOUR + 1) * 1000);
        assert.equal(Number((await db('rate_limits').count({ n: '*' }))[0]!.n), 0);
      });
  });
}
