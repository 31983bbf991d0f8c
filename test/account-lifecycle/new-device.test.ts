import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditEvents, openAccount } from '../account/account-agent.js';
import { backends } from '../support/backends.js';
import { type RunningGatehouse, startGatehouse } from '../support/gatehouse.js';
import { PASSWORD, codeFlow, createClient, createUser, discover } from '../support/relying-party.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';
import { mailTo } from '../support/mailbox.js';

const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0';

/** A browser that sends a User-Agent header on every request. */
class Browser extends UserAgent {
  constructor(private readonly name: string) {
    super();
  }
  override request(url: string, init: Parameters<UserAgent['request']>[1] = {}) {
    return super.request(url, { ...init, headers: { 'user-agent': this.name, ...init.headers } });
  }
}

for (const backend of backends()) {
  describe(`new-device notices (${backend})`, () => {
    let gh: RunningGatehouse;

    before(async () => {
      // Registration signs in at once here (no verification link), so the sign-up is a sign-in.
      gh = await startGatehouse(backend, {
        env: { AUDIT_FLUSH_INTERVAL_MS: '50', GATEHOUSE_REGISTRATION: 'true', EMAIL_VERIFICATION: 'off' },
      });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('sets a long-lived HttpOnly device cookie when a sign-in completes', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const login = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      const res = await ua.request(new URL(formAction(login.html!), gh.issuer).toString(), {
        form: { csrf: hiddenField(login.html!, 'csrf'), email: user.email, password: user.password },
      });
      assert.equal(res.status, 303);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse.device='));
      assert.ok(cookie, 'the device cookie is set');
      assert.match(cookie, /gatehouse\.device=[A-Za-z0-9_-]{43};/);
      assert.match(cookie, /; httponly/i);
      assert.match(cookie, /; samesite=lax/i);
      assert.match(cookie, /; path=\//i);
      assert.doesNotMatch(cookie, /; secure/i, 'not Secure on an http issuer (tests); Secure on https');
      const expires = Date.parse(/expires=([^;]+)/i.exec(cookie)?.[1] ?? '');
      assert.ok(expires - Date.now() > 399 * 86_400_000, 'about 400 days');
    });

    it("an account's first browser gets no notice; a second browser does; the same browser again does not", async () => {
      const user = await createUser(gh);
      const laptop = new UserAgent();
      await openAccount(gh, laptop, user);
      assert.equal(
        (await mailTo(gh, user.email, { template: 'new-device' })).length,
        0,
        'no email for the first sign-in',
      );

      // The same browser signing in again (another app, a fresh sign-in): still known.
      const config = await discover(gh, await createClient(gh));
      await codeFlow(gh, config, { ua: laptop, user, extra: { prompt: 'login consent' } });
      assert.equal((await mailTo(gh, user.email, { template: 'new-device' })).length, 0, 'a known browser');

      const phone = new Browser(FIREFOX_ON_WINDOWS);
      await openAccount(gh, phone, user);
      const mails = await mailTo(gh, user.email, { template: 'new-device' });
      assert.equal(mails.length, 1, 'a sign-in from a new browser is told');
      assert.match(mails[0]!.subject, /New sign-in/);
      assert.match(mails[0]!.text, /Browser: Firefox on Windows/);
      assert.match(mails[0]!.text, /Address: 127\.0\.0\.1/);
      assert.match(mails[0]!.text, /When: \d+ \w+ \d{4}, \d\d:\d\d UTC/);
      assert.ok(mails[0]!.text.includes(`${gh.issuer}/forgot-password`));
      const [event] = await auditEvents(gh, 'new_device.signed_in', user.id);
      assert.equal(event?.actor, `user:${user.id}`);

      // Both browsers are known now.
      await openAccount(gh, new UserAgent(), user);
      const after = await mailTo(gh, user.email, { template: 'new-device' });
      assert.equal(after.length, 2, 'a third browser is new too');
      const again = await discover(gh, await createClient(gh));
      await codeFlow(gh, again, { ua: phone, user, extra: { prompt: 'login consent' } });
      assert.equal((await mailTo(gh, user.email, { template: 'new-device' })).length, 2, 'the phone is known');
    });

    it('a browser used by two accounts is new to each account on its own', async () => {
      const a = await createUser(gh);
      const b = await createUser(gh);
      const shared = new UserAgent();
      await openAccount(gh, new UserAgent(), b); // b's first browser, learned silently
      await openAccount(gh, shared, a);
      // a signs out (the session cookies go); the device cookie stays with the browser.
      for (const name of [...shared.cookies.keys()]) if (name !== 'gatehouse.device') shared.cookies.delete(name);
      const config = await discover(gh, await createClient(gh));
      await codeFlow(gh, config, { ua: shared, user: b, extra: { prompt: 'login consent' } });
      assert.equal((await mailTo(gh, a.email, { template: 'new-device' })).length, 0);
      assert.equal(
        (await mailTo(gh, b.email, { template: 'new-device' })).length,
        1,
        "new to b, though a's cookie is there",
      );
    });

    it("signing up is no new device; the account's next new browser is", async () => {
      const email = `signup-${Math.random().toString(36).slice(2)}@example.test`;
      const ua = new UserAgent();
      const login = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      const register = await ua.follow(`${login.url}/register`, gh.issuer);
      const done = await ua.follow(new URL(formAction(register.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(register.html!, 'csrf'), email, password: PASSWORD },
      });
      assert.equal(done.url, `${gh.issuer}/account`, 'registered and signed in');
      assert.equal((await mailTo(gh, email, { template: 'new-device' })).length, 0, 'no surprise email on sign-up');
      await openAccount(gh, new UserAgent(), { email, password: PASSWORD });
      assert.equal((await mailTo(gh, email, { template: 'new-device' })).length, 1);
    });
  });
}
