import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, PASSWORD, client, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

/** Starts an authorization request as a browser would; returns the agent on the login page. */
async function openLogin(gh: RunningGatehouse, config: client.Configuration) {
  const ua = new UserAgent();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email',
    prompt: 'login consent',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const step = await ua.follow(url.toString(), gh.issuer);
  assert.equal(step.res.status, 200);
  return { ua, url: step.url, html: step.html! };
}

async function openRegister(gh: RunningGatehouse, config: client.Configuration) {
  const login = await openLogin(gh, config);
  const page = await login.ua.follow(`${login.url}/register`, gh.issuer);
  assert.equal(page.res.status, 200);
  return {
    ua: login.ua,
    action: new URL(formAction(page.html!), gh.issuer).toString(),
    csrf: hiddenField(page.html!, 'csrf'),
  };
}

async function userExists(gh: RunningGatehouse, email: string): Promise<boolean> {
  const listed = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
  return listed.body.items.some((u: { email: string }) => u.email === email);
}

for (const backend of backends()) {
  describe(`registration and email rules (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    before(async () => {
      gh = await startGatehouse(backend, { env: { GATEHOUSE_REGISTRATION: 'true' } });
      config = await discover(gh, await createClient(gh, { client_name: 'Rules App' }));
    });
    after(async () => {
      await gh?.destroy();
    });

    it('registration refuses a name the admin API refuses (over 200 characters)', async () => {
      const page = await openRegister(gh, config);
      const email = `long-name-${Date.now()}@example.test`;
      const r = await page.ua.request(page.action, {
        form: { csrf: page.csrf, name: 'n'.repeat(201), email, password: PASSWORD },
      });
      assert.equal(r.status, 400);
      assert.match(await r.text(), /at most 200 characters/);
      assert.equal(await userExists(gh, email), false);
      const admin = await gh.admin('POST', '/admin/users', { email, name: 'n'.repeat(201), password: PASSWORD });
      assert.equal(admin.status, 400, 'the same rule in the admin API');
    });

    it('registration is refused on a consent interaction', async () => {
      const user = await createUser(gh);
      const login = await openLogin(gh, config);
      const signedIn = await login.ua.follow(new URL(formAction(login.html), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(login.html, 'csrf'), email: user.email, password: user.password },
      });
      assert.match(signedIn.html ?? '', /name="decision"/, 'on the consent page');
      const consentUrl = signedIn.url;
      const get = await login.ua.request(`${consentUrl}/register`);
      assert.equal(get.status, 400, 'no registration form on a consent step');
      const email = `on-consent-${Date.now()}@example.test`;
      const post = await login.ua.request(`${consentUrl}/register`, { form: { csrf: 'x', email, password: PASSWORD } });
      assert.equal(post.status, 400);
      assert.equal(await userExists(gh, email), false);
    });

    it('an admin email change resets email_verified unless the same request sets it', async () => {
      const user = await createUser(gh, { email_verified: true });
      const moved = await gh.admin('PATCH', `/admin/users/${user.id}`, { email: `moved-${user.email}` });
      assert.equal(moved.status, 200);
      assert.equal(moved.body.email_verified, false);
      const kept = await gh.admin('PATCH', `/admin/users/${user.id}`, {
        email: `again-${user.email}`,
        email_verified: true,
      });
      assert.equal(kept.body.email_verified, true, 'set in the same request');
      const same = await gh.admin('PATCH', `/admin/users/${user.id}`, {
        email: `AGAIN-${user.email}`.toUpperCase(),
        name: 'Same Address',
      });
      assert.equal(same.body.email_verified, true, 'the same address (case aside) is no change');
    });
  });
}
