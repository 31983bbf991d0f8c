import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { OneTimeValues } from '../../src/domain/authn/one-time-values.js';
import { RecoveryCodeStrategy } from '../../src/domain/authn/recovery-codes/recovery-code-strategy.js';
import { RecoveryCodes } from '../../src/domain/authn/recovery-codes/recovery-codes.js';
import { EMPTY_SIGN_IN } from '../../src/domain/authn/sign-in-state.js';
import type { StrategyContext } from '../../src/domain/authn/strategy.js';
import { TotpEnrolment } from '../../src/domain/authn/totp/totp-enrolment.js';
import { TotpStrategy } from '../../src/domain/authn/totp/totp-strategy.js';
import { type DomainEvent, DomainEvents } from '../../src/domain/events/domain-events.js';
import { KeyEncryption } from '../../src/domain/keys/key-encryption.js';
import type { Database } from '../../src/storage/database.js';
import { RedisOneTimeValues, SqlOneTimeValues } from '../../src/storage/one-time-values.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';
import { SqlCredentialRepository } from '../../src/storage/repositories/credentials-repository.js';
import { backends, createTestStorage, openTestDatabase, type TestStorage } from '../support/backends.js';

/**
 * The TOTP and recovery-code domain over real storage (PGlite; PostgreSQL + Redis), with an
 * injected clock: replay refused by the conditional counter write, setup kept in one-time
 * storage, recovery codes single use. The HTTP flow is in totp-sign-in.test.ts.
 */
const STEP = 60_000_000;
const startOf = (step: number) => step * 30_000;

for (const backend of backends()) {
  describe(`TOTP and recovery codes over storage (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;
    let redis: Redis | undefined;
    let credentials: SqlCredentialRepository;
    let pending: OneTimeValues;
    const kek = new KeyEncryption(randomBytes(32));
    let now = startOf(STEP);
    const clock = () => now;
    const events: DomainEvent[] = [];
    const bus = new DomainEvents().subscribe((e) => events.push(e));

    before(async () => {
      storage = await createTestStorage(backend);
      database = await openTestDatabase(storage);
      credentials = new SqlCredentialRepository(database);
      redis = storage.env.REDIS_URL ? createRedis(storage.env.REDIS_URL) : undefined;
      pending = redis ? new RedisOneTimeValues(redis, storage.env.REDIS_KEY_PREFIX!) : new SqlOneTimeValues(database);
    });
    after(async () => {
      await redis?.quit();
      await database?.close().catch(() => undefined);
      await storage?.drop();
    });

    async function newAccount() {
      const id = randomUUID();
      const email = `${id}@example.test`;
      await database.db()('users').insert({ id, email });
      return { id, email, name: null };
    }
    const ctx = (accountId: string): StrategyContext => ({
      interactionUid: randomUUID(),
      clientId: 'app',
      state: { ...EMPTY_SIGN_IN, accountId, methods: ['password'], amr: ['pwd'], factors: ['knowledge'] },
      origin: {},
    });
    const enrolment = () => new TotpEnrolment(credentials, pending, kek, { issuer: 'login.example.test', clock });
    const setupKey = (model: Record<string, unknown>) => String(model.setupKey).replace(/ /g, '');
    const codeAt = (secret: string, step: number) => generate({ secret, epoch: startOf(step) / 1000 });

    /** An account with an authenticator app set up at step STEP; returns its secret. */
    async function enrolled() {
      const account = await newAccount();
      now = startOf(STEP);
      const binding = `interaction:${randomUUID()}`;
      const secret = setupKey(await enrolment().start(account, binding));
      const result = await enrolment().finish(account, binding, { code: await codeAt(secret, STEP) }, {});
      assert.ok(result.ok, JSON.stringify(result));
      return { account, secret, credentialId: result.credentialId };
    }

    it('setup: a reload shows the same key; a wrong code keeps it; the right one turns the app on once', async () => {
      const account = await newAccount();
      const binding = `interaction:${randomUUID()}`;
      const first = await enrolment().start(account, binding);
      const again = await enrolment().start(account, binding);
      assert.equal(again.setupKey, first.setupKey, 'same QR after a reload');
      assert.notEqual((await enrolment().start(account, `interaction:${randomUUID()}`)).setupKey, first.setupKey);
      const qr = String(first.qrCode);
      assert.match(qr, /^data:image\/svg\+xml;base64,/);
      assert.match(
        Buffer.from(qr.split(',')[1]!, 'base64').toString(),
        /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
      );

      const secret = setupKey(first);
      const wrong = await enrolment().finish(account, binding, { code: '000000' }, {});
      assert.deepEqual([wrong.ok, !wrong.ok && wrong.status], [false, 401]);
      const tooOld = await enrolment().finish(account, binding, { code: await codeAt(secret, STEP - 2) }, {});
      assert.equal(tooOld.ok, false);
      const ok = await enrolment().finish(account, binding, { code: ` ${await codeAt(secret, STEP + 1)} ` }, {});
      assert.ok(ok.ok);
      assert.deepEqual(ok.proof.amr, ['otp']);

      const [row] = await database.db()('credentials').where({ user_id: account.id, type: 'totp' });
      assert.equal(Number(row.counter), STEP + 1, 'the accepted step is the counter: its code cannot sign in');
      assert.ok(row.secret_sealed && !row.secret_sealed.includes(secret), 'the secret is sealed');
      assert.notEqual(
        (await enrolment().start(account, binding)).setupKey,
        first.setupKey,
        'the pending setup was taken',
      );
    });

    it('setup: one authenticator app per account', async () => {
      const { account } = await enrolled();
      const binding = `interaction:${randomUUID()}`;
      const secret = setupKey(await enrolment().start(account, binding));
      const second = await enrolment().finish(account, binding, { code: await codeAt(secret, STEP) }, {});
      assert.equal(second.ok, false);
      assert.equal((await credentials.listFor(account.id, 'totp')).length, 1);
    });

    it('setup: a setup started for one account cannot be finished by another', async () => {
      const ada = await newAccount();
      const eve = await newAccount();
      const binding = `interaction:${randomUUID()}`;
      const secret = setupKey(await enrolment().start(ada, binding));
      const stolen = await enrolment().finish(eve, binding, { code: await codeAt(secret, STEP) }, {});
      assert.equal(stolen.ok, false);
      assert.equal((await credentials.listFor(eve.id, 'totp')).length, 0);
    });

    it('sign-in: each step once; the setup code, a replay and an older step after a newer are refused', async () => {
      const { account, secret } = await enrolled();
      const totp = new TotpStrategy(credentials, kek, clock);
      const c = ctx(account.id);
      assert.equal(await totp.available(c), true);
      const submit = async (code: string) => totp.complete(totp.input.parse({ code }), c);

      const setupCode = await submit(await codeAt(secret, STEP));
      assert.deepEqual([setupCode.kind, setupCode.kind === 'failed' && setupCode.reason], ['failed', 'code_replayed']);

      now = startOf(STEP + 1) + 5_000;
      const next = await submit(await codeAt(secret, STEP + 2)); // the phone is a little ahead: +1 step
      assert.equal(next.kind, 'authenticated');
      assert.deepEqual(next.kind === 'authenticated' && next.proof, {
        amr: ['otp'],
        factors: ['possession'],
        phishingResistant: false,
      });
      const replay = await submit(await codeAt(secret, STEP + 2));
      assert.equal(replay.kind === 'failed' && replay.reason, 'code_replayed');
      const older = await submit(await codeAt(secret, STEP + 1)); // valid now, but older than the last accepted
      assert.equal(older.kind === 'failed' && older.reason, 'code_replayed');
      const valid = await Promise.all([STEP + 1, STEP + 2, STEP + 3].map((step) => codeAt(secret, step)));
      const wrong = await submit(['123456', '234567', '345678', '456789'].find((x) => !valid.includes(x))!);
      assert.equal(wrong.kind === 'failed' && wrong.reason, 'invalid_code');
      const empty = await submit(' ');
      assert.deepEqual([empty.kind === 'failed' && empty.status], [400]);

      now = startOf(STEP + 3);
      assert.equal((await submit(await codeAt(secret, STEP + 3))).kind, 'authenticated', 'the next step works');
      assert.equal(
        (await totp.available(ctx((await newAccount()).id))) || (await totp.available({ ...c, state: EMPTY_SIGN_IN })),
        false,
        'not offered without an app, or before the account is known',
      );
    });

    it('sign-in: one code submitted ten times at once is accepted once', async () => {
      const { account, secret } = await enrolled();
      now = startOf(STEP + 1);
      const code = await codeAt(secret, STEP + 1);
      const strategies = Array.from({ length: 10 }, () => new TotpStrategy(credentials, kek, clock));
      const results = await Promise.all(strategies.map((s) => s.complete({ code }, ctx(account.id))));
      assert.equal(results.filter((r) => r.kind === 'authenticated').length, 1, JSON.stringify(results));
    });

    it('recovery codes: each works once, in any case or spacing; a new set ends the old one', async () => {
      const codes = new RecoveryCodes(credentials, randomBytes(32));
      const strategy = new RecoveryCodeStrategy(codes, bus);
      const { account } = await enrolled();
      const other = await enrolled();
      assert.equal(await codes.has(account.id), false);
      const set = await codes.generate(account.id);
      assert.equal(set.length, 10);
      assert.equal(await codes.has(account.id), true);
      const rows = await database.db()('recovery_codes').where({ user_id: account.id });
      assert.equal(rows.length, 10);
      for (const r of rows) for (const code of set) assert.ok(!r.code_hash.includes(code.replace(/-/g, '')));

      const c = ctx(account.id);
      assert.equal(await strategy.available(c), true);
      const use = (code: string, to = c) => strategy.complete(strategy.input.parse({ code }), to);
      const first = await use(` ${set[0]!.toUpperCase().replace(/-/g, ' ')} `);
      assert.equal(first.kind, 'authenticated');
      assert.deepEqual(first.kind === 'authenticated' && first.proof.amr, ['otp']);
      assert.deepEqual(events.at(-1), { type: 'recovery_code.used', accountId: account.id, remaining: 9 });
      assert.equal((await use(set[0]!)).kind, 'failed', 'used once');
      assert.equal((await use(set[1]!, ctx(other.account.id))).kind, 'failed', "another account's code");
      assert.equal((await use('not-a-code')).kind, 'failed');

      const racers = await Promise.all(Array.from({ length: 8 }, () => use(set[2]!)));
      assert.equal(racers.filter((r) => r.kind === 'authenticated').length, 1, 'one of eight at once');
      assert.equal(await codes.remaining(account.id), 8);

      const fresh = await codes.generate(account.id);
      assert.equal((await use(set[3]!)).kind, 'failed', 'the old set stopped working');
      assert.equal(await codes.remaining(account.id), 10);
      assert.equal((await use(fresh[9]!)).kind, 'authenticated');
    });
  });
}
