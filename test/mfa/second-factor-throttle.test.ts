import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { type client, createClient, createUser, discover } from '../support/relying-party.js';
import { appCode, enrolTotp, linkTo, recoveryCodesOf, SignIn } from './mfa-flow.js';

/** SECOND_FACTOR_FAILURES in src/domain/authn/second-factor-limiter.ts; 15 minutes. */
const LIMIT = 5;
const WINDOW_SECONDS = 15 * 60;

for (const backend of backends()) {
  // PostgreSQL + Redis: two instances share the counters and the requests alternate between them.
  // PGlite is one process by design: there, one instance (the SQL counter).
  describe(`wrong second factors are limited per account (${backend})`, () => {
    const instances: RunningGatehouse[] = [];
    let config: client.Configuration;
    before(async () => {
      const first = await startGatehouse(backend, { env: { MFA_REQUIRED: 'true' } });
      instances.push(first);
      if (backend === 'postgres')
        instances.push(
          await startGatehouse(backend, {
            storage: first.storage,
            env: { ISSUER: first.issuer, GATEHOUSE_ADMIN_KEY: first.adminKey, MFA_REQUIRED: 'true' },
          }),
        );
      config = await discover(first, await createClient(first));
    });
    after(async () => {
      for (const gh of instances.slice(1)) await gh.stop();
      await instances[0]?.destroy();
    });
    const gh = () => instances[0]!;
    const instanceBase = (i: number) => `http://localhost:${instances[i % instances.length]!.port}`;

    /** The account's audit events of `type`, once `done` says all arrived (instances flush every 200 ms). */
    async function auditEvents(type: string, userId: string, done: (n: number) => boolean) {
      for (let tries = 0; ; tries++) {
        const res = await gh().admin('GET', `/admin/audit-events?type=${type}&user=${encodeURIComponent(userId)}`);
        const items = res.body.items as Array<{ id: string; data: Record<string, unknown> }>;
        if (done(items.length) || tries > 30) return items;
        await sleep(100);
      }
    }

    it(`after ${LIMIT} wrong codes on either instance, the next try gets 429 and Retry-After`, async () => {
      const user = await createUser(gh());
      const setup = new SignIn(gh(), config);
      const { secret, codes } = await enrolTotp(setup, user);
      const recovery = recoveryCodesOf(codes.html);
      await setup.finish(await setup.submit(codes, {}));

      const signIn = new SignIn(gh(), config);
      let page = await signIn.password(user);
      const valid = await Promise.all([-1, 0, 1, 2].map((s) => appCode(secret, s)));
      const wrong = ['111111', '222222', '333333', '444444', '555555', '666666'].filter((c) => !valid.includes(c));
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT; i++) {
        signIn.postBase = instanceBase(i);
        page = await signIn.submit(page, { code: wrong[i]! });
        statuses.push(page.res.status);
      }
      // The fifth failure reaches the limit: its answer already says to wait.
      assert.deepEqual(statuses, [401, 401, 401, 401, 429]);

      signIn.postBase = instanceBase(LIMIT);
      const limited = await signIn.submit(page, { code: await appCode(secret, 1) });
      assert.equal(limited.res.status, 429, 'the right code waits too: it is not even checked');
      const retryAfter = Number(limited.res.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `Retry-After ${retryAfter}`);
      assert.match(limited.html, /Too many wrong codes/);
      assert.match(limited.html, /role="alert"/);

      // A recovery code is a second factor too: the same limit applies.
      signIn.postBase = instanceBase(LIMIT + 1);
      const recoveryForm = await signIn.get(linkTo(limited.html, 'Use a recovery code'));
      const viaRecovery = await signIn.submit(recoveryForm, { code: recovery[0]! });
      assert.equal(viaRecovery.res.status, 429);

      const throttled = await auditEvents('second_factor.throttled', user.id, (n) => n >= 3);
      assert.equal(throttled.length, 3, 'the fifth failure, the right code and the recovery code: each audited');
      assert.ok(Number(throttled[0]!.data.retry_after_seconds) > 0);
      const failed = await auditEvents('login.failed', user.id, (n) => n >= LIMIT);
      assert.equal(failed.length, LIMIT, 'each wrong code audited once; the refused attempts were never checked');
    });

    it('counts per account: another account is not affected', async () => {
      const user = await createUser(gh());
      const setup = new SignIn(gh(), config);
      const { secret, codes } = await enrolTotp(setup, user);
      await setup.finish(await setup.submit(codes, {}));
      const signIn = new SignIn(gh(), config);
      signIn.postBase = instanceBase(1);
      const tokens = await signIn.finish(
        await signIn.submit(await signIn.password(user), { code: await appCode(secret, 1) }),
      );
      assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
    });
  });
}
