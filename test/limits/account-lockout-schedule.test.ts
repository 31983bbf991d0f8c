import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AccountLockout,
  delaySeconds,
  emailKey,
  HARD_LOCK_UNTIL,
  lockSchedule,
  MAX_DELAY_SECONDS,
} from '../../src/domain/authn/account-lockout.js';
import { type DomainEvent, DomainEvents } from '../../src/domain/events/domain-events.js';
import { Mailer } from '../../src/domain/mail/mail.js';
import { EMAIL_TEMPLATES, ViewsEmailComposer } from '../../src/mail/email-composer.js';
import type { Database } from '../../src/storage/database.js';
import { SqlAccountLockoutRepository } from '../../src/storage/repositories/account-lockouts-repository.js';
import { SqlOutboxRepository } from '../../src/storage/repositories/outbox-repository.js';
import { backends, createTestStorage, openTestDatabase, type TestStorage } from '../support/backends.js';

describe('the slow-down schedule', () => {
  it('costs nothing for 5 failures, then doubles from 1 s up to 15 minutes', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(delaySeconds), [0, 0, 0, 0, 0]);
    assert.deepEqual([5, 6, 7, 8, 14].map(delaySeconds), [1, 2, 4, 8, 512]);
    assert.equal(delaySeconds(15), MAX_DELAY_SECONDS, '2^10 s is capped');
    assert.equal(delaySeconds(99), MAX_DELAY_SECONDS);
  });

  it('is handed to storage as one delay per count below the threshold', () => {
    const schedule = lockSchedule(20);
    assert.equal(schedule.delays.length, 20);
    assert.equal(schedule.delays[4], 1, 'after the 5th failure');
    assert.equal(schedule.hardLockUntil.toISOString(), '9999-12-31T23:59:59.000Z');
  });

  it('keys by the normalised email: trimmed, NFC, lower-cased, hashed', () => {
    assert.equal(emailKey('  Zoë@Example.TEST '), emailKey('zoe\u0308@example.test'));
    assert.match(emailKey('a@b.c'), /^[0-9a-f]{64}$/);
  });
});

for (const backend of backends()) {
  describe(`account lockout over SQL, with a clock (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;
    let now = Date.parse('2030-01-01T00:00:00Z');
    const seen: DomainEvent[] = [];
    const events = new DomainEvents().subscribe((e) => seen.push(e));
    const accounts = new Map<string, string>();
    let lockout: AccountLockout;
    before(async () => {
      storage = await createTestStorage(backend);
      database = await openTestDatabase(storage);
      const mailer = new Mailer(
        new SqlOutboxRepository(database),
        new ViewsEmailComposer(EMAIL_TEMPLATES),
        { productName: 'Gatehouse', issuer: 'https://id.example.test' },
        events,
      );
      lockout = new AccountLockout(
        new SqlAccountLockoutRepository(database),
        { threshold: 8, now: () => now },
        { mailer, events, accountEmail: async (id) => accounts.get(id)! },
      );
      events.subscribe(lockout.resetSubscriber((err) => assert.fail(String(err))));
    });
    after(async () => {
      await database?.close();
      await storage?.drop();
    });

    /** One wrong password: allowed (and counted) or refused. */
    const fail = async (email: string, accountId?: string) => {
      const attempt = await lockout.attempt(email);
      await lockout.failed(attempt, accountId);
      return attempt;
    };

    it('waits after each failure past the 5th, for exactly the scheduled time', async () => {
      const email = 'slow@example.test';
      for (let i = 1; i <= 7; i++) {
        const verdict = await fail(email);
        assert.deepEqual(verdict, { allowed: true, failedAttempts: i }, `attempt ${i}: allowed once the wait is over`);
        const wait = delaySeconds(i);
        if (wait) {
          const held = await lockout.attempt(email);
          assert.deepEqual(held, { allowed: false, hardLocked: false, retryAfterSeconds: wait });
          now += wait * 1000 - 1;
          assert.equal((await lockout.attempt(email)).allowed, false, 'one millisecond early');
          now += 1;
        }
      }
      assert.deepEqual(await lockout.status(email), { failedAttempts: 7, lockedUntil: null, hardLocked: false });
    });

    it('counts concurrent attempts one by one, and a burst past the 5th gets one through', async () => {
      const email = 'burst@example.test';
      await Promise.all(Array.from({ length: 5 }, () => fail(email)));
      assert.equal((await lockout.status(email)).failedAttempts, 5);
      now += 1000;
      // 20 guesses at once when the wait ends: the first one counted sets the next wait for the others.
      const burst = await Promise.all(Array.from({ length: 20 }, () => lockout.attempt(email)));
      assert.equal(burst.filter((v) => v.allowed).length, 1);
      assert.equal((await lockout.status(email)).failedAttempts, 6);
    });

    it('locks at the threshold, emails the owner once, and a reset unlocks', async () => {
      const email = 'owner@example.test';
      accounts.set('acc-1', email);
      for (let i = 0; i < 8; i++) {
        now += MAX_DELAY_SECONDS * 1000;
        await fail(email, 'acc-1');
      }
      now += 365 * 24 * 3600_000;
      const verdict = await lockout.attempt(' OWNER@example.test');
      assert.equal(verdict.allowed, false);
      assert.equal(verdict.allowed === false && verdict.hardLocked, true);
      assert.deepEqual(await lockout.status(email), {
        failedAttempts: 8,
        lockedUntil: HARD_LOCK_UNTIL,
        hardLocked: true,
      });
      assert.deepEqual(
        seen.filter((e) => e.type === 'account.locked'),
        [{ type: 'account.locked', accountId: 'acc-1', failedAttempts: 8 }],
      );
      const mails = await database.db()('outbox').where({ to_address: email, template: 'account-locked' });
      assert.equal(mails.length, 1);
      assert.match(mails[0].text_body, /https:\/\/id\.example\.test\/forgot-password/);

      // The reset flow emits password.reset; the subscriber clears the lock.
      events.emit({ type: 'password.reset', accountId: 'acc-1' });
      for (let i = 0; i < 50 && !seen.some((e) => e.type === 'account.unlocked'); i++) await sleep(20);
      assert.deepEqual(
        seen.filter((e) => e.type === 'account.unlocked'),
        [{ type: 'account.unlocked', accountId: 'acc-1', by: 'reset' }],
      );
      assert.deepEqual(await lockout.attempt(email), { allowed: true, failedAttempts: 1 }, 'counting from the start');
    });

    it('a success clears the count; the sweep forgets old counts but keeps locks', async () => {
      const email = 'typo@example.test';
      await fail(email);
      assert.equal((await lockout.attempt(email)).allowed, true);
      await lockout.succeeded(email);
      assert.equal((await lockout.status(email)).failedAttempts, 0);

      accounts.set('acc-2', 'held@example.test');
      for (let i = 0; i < 8; i++) {
        now += MAX_DELAY_SECONDS * 1000;
        await fail('held@example.test', 'acc-2');
      }
      await fail('old@example.test');
      now += 31 * 24 * 3600_000;
      await lockout.sweep(30 * 24 * 3600);
      assert.equal((await lockout.status('old@example.test')).failedAttempts, 0, 'forgotten');
      assert.equal((await lockout.status('held@example.test')).hardLocked, true, 'a lock waits for a reset');
    });
  });
}
