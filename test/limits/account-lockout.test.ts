import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { PASSWORD, type client, createClient, createUser, discover } from '../support/relying-party.js';
import { mailTo } from '../support/mailbox.js';
import { auditEvents, pageMessage, passwordForm } from './limits-support.js';

/** Small, so a test reaches it quickly (the product default is 20; config allows 6–100). */
const THRESHOLD = 6;
const WRONG = 'not the password, sorry';
const HARD_LOCK = '9999-12-31T23:59:59.000Z';

for (const backend of backends()) {
  describe(`per-account password limits (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    // One clock for the instance's waits: tests move it instead of sleeping.
    let now = Date.now();
    before(async () => {
      gh = await startGatehouse(backend, {
        env: { ACCOUNT_LOCKOUT_THRESHOLD: String(THRESHOLD) },
        parts: { now: () => now },
      });
      config = await discover(gh, await createClient(gh));
    });
    after(async () => {
      await gh?.destroy();
    });

    const unknownEmail = () => `nobody-${Math.random().toString(36).slice(2)}@example.test`;
    /** The page's message with the typed email taken out (the form keeps it), to compare two answers. */
    const answer = (r: { status: number; retryAfter: string | null; html: string }) => ({
      status: r.status,
      retryAfter: r.retryAfter,
      message: pageMessage(r.html),
    });

    it('slows down after 5 failures: 429 + Retry-After before any password check, alike for unknown emails', async () => {
      const user = await createUser(gh);
      const stranger = unknownEmail();
      const attempt = await passwordForm(gh, config);
      for (let i = 0; i < 5; i++) {
        assert.equal((await attempt(user.email, WRONG)).status, 401);
        assert.equal((await attempt(stranger, WRONG)).status, 401);
      }
      // The wait (1 s after the 5th failure) has not passed on the instance's clock: even the right
      // password is refused, which shows nothing was compared (so nothing was hashed).
      const held = await attempt(user.email, PASSWORD);
      assert.equal(held.status, 429);
      assert.equal(held.retryAfter, '1');
      assert.match(pageMessage(held.html), /^Too many attempts\. Try again in 1 second\.$/);
      assert.deepEqual(answer(await attempt(stranger, WRONG)), answer(held), 'an unknown email gets the same');
      // Differently cased, with spaces: the same account, the same count.
      assert.equal((await attempt(` ${user.email.toUpperCase()} `, PASSWORD)).status, 429);

      const status = await gh.admin('GET', `/admin/users/${user.id}`);
      assert.equal(status.body.failed_attempts, 5);
      assert.equal(new Date(status.body.locked_until).getTime(), now + 1000);

      now += 1500;
      const signedIn = await attempt(user.email, PASSWORD);
      assert.equal(signedIn.status, 303, 'after the wait the right password works');
      const cleared = await gh.admin('GET', `/admin/users/${user.id}`);
      assert.equal(cleared.body.failed_attempts, 0, 'a success clears the consecutive count');
      assert.equal(cleared.body.locked_until, null);
    });

    it(`locks password sign-in after ${THRESHOLD} failures: the owner is emailed once, the answer is an unknown email's`, async () => {
      const user = await createUser(gh);
      const stranger = unknownEmail();
      const attempt = await passwordForm(gh, config);
      for (let i = 0; i < THRESHOLD; i++) {
        now += 60_000; // past any wait
        assert.equal((await attempt(user.email, WRONG)).status, 401, `failure ${i + 1}`);
        assert.equal((await attempt(stranger, WRONG)).status, 401, `unknown email, failure ${i + 1}`);
      }
      now += 24 * 3600_000; // a lock has no end
      const locked = await attempt(user.email, PASSWORD);
      assert.equal(locked.status, 429, 'the right password is refused');
      assert.ok(Number(locked.retryAfter) >= 1);
      assert.match(pageMessage(locked.html), /password sign-in is locked for this email\. Reset your password/);
      assert.deepEqual(answer(await attempt(stranger, PASSWORD)), answer(locked), 'indistinguishable from nobody');

      const detail = await gh.admin('GET', `/admin/users/${user.id}`);
      assert.equal(detail.status, 200);
      assert.equal(detail.body.failed_attempts, THRESHOLD);
      assert.equal(detail.body.locked_until, HARD_LOCK);

      const mails = await mailTo(gh, user.email, { template: 'account-locked' });
      assert.equal(mails.length, 1, 'emailed once');
      assert.ok(mails[0]!.text.includes(`${gh.issuer}/forgot-password`), 'with a link to reset');
      const lockedEvents = await auditEvents(gh, 'account.locked', user.id);
      assert.equal(lockedEvents.length, 1);
      assert.equal(lockedEvents[0]!.data.failed_attempts, THRESHOLD);

      // Admin unlock: audited as the admin, and the password works again.
      const unlocked = await gh.admin('POST', `/admin/users/${user.id}/unlock`);
      assert.equal(unlocked.status, 200);
      assert.equal(unlocked.body.failed_attempts, 0);
      assert.equal(unlocked.body.locked_until, null);
      const again = await passwordForm(gh, config);
      assert.equal((await again(user.email, PASSWORD)).status, 303);
      const audit = await auditEvents(gh, 'account.unlocked', user.id);
      assert.equal(audit[0]?.actor, 'admin:key');
      assert.equal(audit[0]?.data.by, 'admin');

      assert.equal((await gh.admin('POST', '/admin/users/no-such-user/unlock')).status, 404);
    });
  });
}

describe('two instances share the count (postgres + Redis)', { skip: !backends().includes('postgres') }, () => {
  const instances: RunningGatehouse[] = [];
  let config: client.Configuration;
  let now = Date.now();
  before(async () => {
    const env = { ACCOUNT_LOCKOUT_THRESHOLD: String(THRESHOLD) };
    const first = await startGatehouse('postgres', { env, parts: { now: () => now } });
    instances.push(first);
    instances.push(
      await startGatehouse('postgres', {
        storage: first.storage,
        env: { ...env, ISSUER: first.issuer, GATEHOUSE_ADMIN_KEY: first.adminKey },
        parts: { now: () => now },
      }),
    );
    config = await discover(first, await createClient(first));
  });
  after(async () => {
    await instances[1]?.stop();
    await instances[0]?.destroy();
  });

  it(`failures spread over both instances lock at ${THRESHOLD}`, async () => {
    const [a, b] = instances as [RunningGatehouse, RunningGatehouse];
    const user = await createUser(a);
    const onA = await passwordForm(a, config);
    const onB = await passwordForm(b, config);
    for (let i = 0; i < THRESHOLD; i++) {
      now += 60_000;
      assert.equal((await (i % 2 ? onB : onA)(user.email, WRONG)).status, 401, `failure ${i + 1}`);
    }
    now += 60_000;
    assert.equal((await onA(user.email, PASSWORD)).status, 429);
    assert.equal((await onB(user.email, PASSWORD)).status, 429);
    assert.equal((await a.admin('GET', `/admin/users/${user.id}`)).body.locked_until, HARD_LOCK);
    assert.equal(
      (await mailTo(a, user.email, { template: 'account-locked' })).length,
      1,
      'one email, whichever instance locked',
    );
  });
});
