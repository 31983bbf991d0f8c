import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  client,
  createClient,
  createUser,
  discover,
  loginAndGetTokens,
  startAuthorization,
} from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';
import { linkFrom, mailTo } from '../support/mailbox.js';
import { masked } from './page-mask.js';

const NEW_PASSWORD = 'a brand new passphrase for this account';

/** The sign-in page of a fresh authorization, then its "Forgot password?" form. */
async function openForgot(gh: RunningGatehouse, config: client.Configuration, ua = new UserAgent()) {
  const auth = await startAuthorization(gh, config, { scope: 'openid email' }, ua);
  const href = /<a href="([^"]+)">Forgot password\?<\/a>/.exec(auth.step.html!)?.[1];
  assert.ok(href, 'a "Forgot password?" link on the sign-in page');
  const page = await ua.follow(new URL(href, gh.issuer).toString(), gh.issuer);
  assert.equal(page.res.status, 200);
  assert.match(page.html!, /<label for="email">Email<\/label>/);
  assert.match(page.html!, /<button type="submit">Send reset link<\/button>/);
  return { ...auth, ua, page };
}

async function askReset(gh: RunningGatehouse, config: client.Configuration, email: string, ua = new UserAgent()) {
  const { page } = await openForgot(gh, config, ua);
  const res = await ua.request(new URL(formAction(page.html!), gh.issuer).toString(), {
    form: { csrf: hiddenField(page.html!, 'csrf'), email },
  });
  return { res, html: await res.text() };
}

/** The reset page of `link` with `password` submitted. */
async function submitReset(gh: RunningGatehouse, ua: UserAgent, link: string, password: string) {
  const page = await ua.follow(link, gh.issuer);
  assert.equal(page.res.status, 200, page.html);
  assert.match(page.html!, /<label for="password">New password<\/label>/);
  assert.match(page.html!, /<button type="submit">Reset password<\/button>/);
  return ua.follow(new URL(formAction(page.html!), gh.issuer).toString(), gh.issuer, {
    form: { csrf: hiddenField(page.html!, 'csrf'), token: hiddenField(page.html!, 'token'), password },
  });
}

for (const backend of backends()) {
  describe(`password reset (${backend})`, () => {
    let gh: RunningGatehouse;
    let app: { client_id: string; client_secret?: string };
    let config: client.Configuration;
    before(async () => {
      gh = await startGatehouse(backend);
      app = await createClient(gh, { client_name: 'Reset App' });
      config = await discover(gh, app);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('an unknown address gets the same page and no email', async () => {
      const user = await createUser(gh);
      const unknown = `nobody-${Date.now()}@example.test`;
      const a = await askReset(gh, config, user.email);
      const b = await askReset(gh, config, unknown);
      assert.equal(a.res.status, 200);
      assert.match(a.html, /<h1>Check your email<\/h1>/);
      assert.equal(a.res.status, b.res.status);
      assert.equal(a.res.headers.get('cache-control'), b.res.headers.get('cache-control'));
      assert.equal(masked(a.html, user.email), masked(b.html, unknown));
      assert.deepEqual((await mailTo(gh, unknown)).length, 0);
      assert.deepEqual(
        (await mailTo(gh, user.email)).map((m) => m.template),
        ['password-reset'],
      );
    });

    it('a reset revokes sessions and refresh tokens, verifies the address, is audited and emailed', async () => {
      const user = await createUser(gh, { email_verified: false });
      const browser = new UserAgent();
      const { tokens } = await loginAndGetTokens(gh, config, { user, ua: browser });
      assert.ok(tokens.refresh_token, 'a refresh token before the reset');

      const asked = await askReset(gh, config, user.email);
      assert.equal(asked.res.status, 200);
      const link = await linkFrom(gh, user.email, 'password-reset', '/reset-password');
      assert.ok(link.startsWith(`${gh.issuer}/reset-password?token=`));

      // A password the policy refuses: the form again with the rule, and the link still works.
      const weak = await submitReset(gh, new UserAgent(), link, 'short');
      assert.equal(weak.res.status, 400);
      assert.match(weak.html!, /Password must be at least/);
      const done = await submitReset(gh, new UserAgent(), link, NEW_PASSWORD);
      assert.equal(done.res.status, 200, done.html);
      assert.match(done.html!, /Your password was reset/);

      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), (err: { error?: string }) => {
        assert.equal(err.error, 'invalid_grant');
        return true;
      });
      // The browser's session is gone: a new authorization asks to sign in again.
      const again = await startAuthorization(gh, config, { scope: 'openid email' }, browser);
      assert.match(again.step.html ?? '', /name="password"/, 'the sign-in page, not a silent sign-in');
      // The old password no longer works; the new one does.
      const old = await again.ua.follow(new URL(formAction(again.step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(again.step.html!, 'csrf'), email: user.email, password: user.password },
      });
      assert.equal(old.res.status, 401);
      await loginAndGetTokens(gh, config, { user: { email: user.email, password: NEW_PASSWORD } });

      const account = await gh.admin('GET', `/admin/users/${user.id}`);
      assert.equal(account.body.email_verified, true);
      const audit = await gh.admin('GET', '/admin/audit-events?type=password.reset&limit=50');
      assert.ok(
        audit.body.items.some((e: { subject?: string }) => e.subject === user.id),
        'password.reset audited',
      );
      assert.ok(!JSON.stringify(audit.body).includes(NEW_PASSWORD));
      // The sign-in after the reset came from a new browser: its notice is the new-device helper's test.
      assert.deepEqual(
        (await mailTo(gh, user.email, { oldestFirst: true })).map((m) => m.template).filter((t) => t !== 'new-device'),
        ['password-reset', 'password-changed'],
      );

      // Used once.
      const reused = await new UserAgent().follow(link, gh.issuer);
      assert.equal(reused.res.status, 410);
      assert.match(reused.html!, /This link has expired or was already used/);
      assert.match(reused.html!, /href="\/forgot-password"/, 'a way to ask for a new link');
    });

    it('"Sign in" after a reset goes back to the sign-in it started from, in that browser', async () => {
      const user = await createUser(gh);
      const browser = new UserAgent();
      const { step } = await openForgot(gh, config, browser);
      const interaction = step.url;
      await browser.request(new URL(formAction(step.html!), gh.issuer).toString(), {
        form: { csrf: hiddenField(step.html!, 'csrf'), email: user.email },
      });
      const forgot = await browser.follow(`${interaction}/forgot-password`, gh.issuer);
      await browser.request(new URL(formAction(forgot.html!), gh.issuer).toString(), {
        form: { csrf: hiddenField(forgot.html!, 'csrf'), email: user.email },
      });
      const link = await linkFrom(gh, user.email, 'password-reset', '/reset-password');
      const done = await submitReset(gh, browser, link, NEW_PASSWORD);
      const signIn = /<a class="button" href="([^"]+)">Sign in<\/a>/.exec(done.html!)?.[1] ?? '';
      assert.ok(signIn?.endsWith('/resume'), signIn);
      const back = await browser.request(new URL(signIn, gh.issuer).toString());
      assert.equal(back.status, 303);
      assert.equal(new URL(back.headers.get('location')!, gh.issuer).toString(), interaction);
      const elsewhere = await new UserAgent().request(new URL(signIn, gh.issuer).toString());
      assert.equal(elsewhere.headers.get('location'), '/account');
    });

    it('the standalone form needs its CSRF cookie; sends are limited per address with 429 and Retry-After', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const page = await ua.follow(`${gh.issuer}/forgot-password`, gh.issuer);
      assert.equal(page.res.status, 200);
      const csrf = hiddenField(page.html!, 'csrf');
      const forged = await new UserAgent().request(`${gh.issuer}/forgot-password`, {
        form: { csrf, email: user.email },
      });
      assert.equal(forged.status, 403, 'the token without its cookie');
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 6; i++) {
        last = await ua.request(`${gh.issuer}/forgot-password`, { form: { csrf, email: user.email } });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
      assert.ok(Number(last!.headers.get('retry-after')) > 0);
      assert.equal((await mailTo(gh, user.email)).length, 5);
      const audit = await gh.admin('GET', '/admin/audit-events?type=email.send_throttled&limit=50');
      assert.ok(audit.body.items.length >= 1, 'email.send_throttled audited');
    });
  });
}
