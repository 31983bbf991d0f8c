import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { OneTimeValues } from '../../src/domain/authn/one-time-values.js';
import type { Database } from '../../src/storage/database.js';
import { RedisOneTimeValues, SqlOneTimeValues } from '../../src/storage/one-time-values.js';
import { SqlCredentialRepository } from '../../src/storage/repositories/credentials-repository.js';
import { SqlUserRepository } from '../../src/storage/repositories/users-repository.js';
import {
  backends,
  createTestStorage,
  openTestDatabase,
  TEST_REDIS_URL,
  type TestStorage,
} from '../support/backends.js';

/**
 * The storage contract of sign-in credentials and one-time values, on every backend: what the
 * strategies rely on for single use (one conditional write wins, however many race).
 */
for (const backend of backends()) {
  describe(`credentials and one-time values (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;
    let redis: Redis | undefined;
    let credentials: SqlCredentialRepository;
    let userId: string;
    const stores: Array<[string, () => OneTimeValues]> = [];

    before(async () => {
      storage = await createTestStorage(backend);
      database = await openTestDatabase(storage);
      credentials = new SqlCredentialRepository(database);
      const user = await new SqlUserRepository(database).insert({
        id: randomUUID(),
        email: `c-${randomUUID()}@example.com`,
        name: null,
        emailVerified: false,
        passwordHash: 'not-a-real-hash',
      });
      userId = user.id;
      stores.push(['sql', () => new SqlOneTimeValues(database)]);
      if (backend === 'postgres') {
        redis = new Redis(TEST_REDIS_URL);
        stores.push(['redis', () => new RedisOneTimeValues(redis!, storage.env.REDIS_KEY_PREFIX!)]);
      }
    });
    after(async () => {
      await redis?.quit();
      await database?.close();
      await storage?.drop();
    });

    it('keeps the password as a credential, read with the user', async () => {
      const users = new SqlUserRepository(database);
      assert.equal((await users.findById(userId))?.passwordHash, 'not-a-real-hash');
      await users.update(userId, { passwordHash: 'another-hash' });
      assert.equal((await users.findById(userId))?.passwordHash, 'another-hash');
      const rows = await database.db()('credentials').where({ user_id: userId, type: 'password' });
      assert.equal(rows.length, 1, 'one password row per account');
    });

    it('moves a counter forward once when many race for the same value', async () => {
      const c = await credentials.insert({ id: randomUUID(), userId, type: 'totp', secretSealed: 'sealed' });
      const wins = await Promise.all(Array.from({ length: 8 }, () => credentials.advanceCounter(c.id, 1000)));
      assert.equal(wins.filter(Boolean).length, 1, 'exactly one accepts step 1000');
      assert.equal(await credentials.advanceCounter(c.id, 999), false, 'an older value is refused');
      assert.equal(await credentials.advanceCounter(c.id, 1001), true);
      const stored = await credentials.find(userId, c.id);
      assert.equal(stored?.counter, 1001);
      assert.ok(stored?.lastUsedAt, 'last used is recorded');
    });

    it('accepts a counter of 0 again only from an authenticator that never counted', async () => {
      const c = await credentials.insert({
        id: randomUUID(),
        userId,
        type: 'passkey',
        externalId: `cred-${randomUUID()}`,
      });
      assert.equal(await credentials.advanceCounter(c.id, 0), true, 'no counter: 0 stays 0');
      assert.equal(await credentials.advanceCounter(c.id, 5), true);
      assert.equal(await credentials.advanceCounter(c.id, 0), false, 'back to 0 after counting is a regression');
      assert.equal((await credentials.findByExternalId('passkey', c.externalId!))?.id, c.id);
    });

    it('consumes each recovery code once, and a new set replaces the old one', async () => {
      await credentials.replaceRecoveryCodes({ id: randomUUID(), userId, type: 'recovery_codes' }, ['h1', 'h2']);
      const racers = await Promise.all(Array.from({ length: 6 }, () => credentials.consumeRecoveryCode(userId, 'h1')));
      assert.equal(racers.filter(Boolean).length, 1, 'one of six concurrent uses wins');
      assert.equal(await credentials.remainingRecoveryCodes(userId), 1);
      await credentials.replaceRecoveryCodes({ id: randomUUID(), userId, type: 'recovery_codes' }, ['h3']);
      assert.equal(await credentials.consumeRecoveryCode(userId, 'h2'), false, 'the old set is gone');
      assert.equal(await credentials.consumeRecoveryCode(userId, 'h3'), true);
      assert.equal((await credentials.listFor(userId, 'recovery_codes')).length, 1);
    });

    it('one-time values: taken once by one of many racers, never after expiry', async () => {
      for (const [name, make] of stores) {
        const values = make();
        const key = `k-${randomUUID()}`;
        await values.put(key, 'challenge-text', 60);
        assert.equal(await values.peek(key), 'challenge-text', `${name}: peek reads a plain string`);
        const taken = await Promise.all(Array.from({ length: 6 }, () => values.take<string>(key)));
        assert.deepEqual(
          taken.filter((v) => v !== undefined),
          ['challenge-text'],
          `${name}: exactly one racer takes it`,
        );
        await values.put(`${key}-obj`, { a: 1 }, 60);
        assert.deepEqual(await values.take(`${key}-obj`), { a: 1 }, `${name}: objects round-trip`);
        assert.equal(await values.take(`${key}-obj`), undefined, `${name}: gone after take`);
      }
      // Expiry: SQL compares with its own clock, so a row written already expired is never returned.
      await database
        .db()('one_time_values')
        .insert({
          key: 'expired',
          value: JSON.stringify({ v: 'old' }),
          expires_at: new Date(Date.now() - 1000),
        });
      const sql = new SqlOneTimeValues(database);
      assert.equal(await sql.take('expired'), undefined);
      assert.equal(await SqlOneTimeValues.sweep(database, new Date()), 1, 'the sweeper removes it');
    });

    it('removes a user’s credentials with the user', async () => {
      await new SqlUserRepository(database).delete(userId);
      assert.equal((await database.db()('credentials').where({ user_id: userId })).length, 0);
      assert.equal((await database.db()('recovery_codes').where({ user_id: userId })).length, 0);
    });
  });
}
