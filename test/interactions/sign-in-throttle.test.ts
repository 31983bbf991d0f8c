import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, PASSWORD, client, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

for (const backend of backends()) {
  describe(`sign-in throttling per client address (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    let user: { email: string };
    before(async () => {
      // Behind a proxy: the client address is the last X-Forwarded-For entry (the proxy's own).
      gh = await startGatehouse(backend, { env: { SIGN_IN_ATTEMPTS_PER_MINUTE: '3', TRUST_PROXY: 'true' } });
      config = await discover(gh, await createClient(gh));
      user = await createUser(gh);
    });
    after(async () => { await gh?.destroy(); });

    async function loginForm(address: string) {
      const ua = new UserAgent((url, init) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-forwarded-for': address } }));
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK, scope: 'openid', state: 's', code_challenge_method: 'S256',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      });
      const page = await ua.follow(url.toString(), gh.issuer);
      assert.ok(page.html?.includes('name="password"'));
      const action = new URL(formAction(page.html!), gh.issuer).toString();
      const csrf = hiddenField(page.html!, 'csrf');
      return (password: string) => ua.request(action, { form: { csrf, email: user.email, password } });
    }

    it('answers 429 with Retry-After once an address used its attempts, before checking the password', async () => {
      const attempt = await loginForm('203.0.113.7');
      for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong password, attempt')).status, 401);
      const limited = await attempt(PASSWORD);
      assert.equal(limited.status, 429, 'even the right password waits: nothing is hashed');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.match(await limited.text(), /Too many sign-in attempts/);
    });

    it('counts per address: another client is not affected, and a forged first X-Forwarded-For entry does not help', async () => {
      const other = await loginForm('198.51.100.23');
      const ok = await other(PASSWORD);
      assert.equal(ok.status, 303, 'another address signs in');
      // The attacker prepends a fresh address each time; the proxy-added (last) entry still counts.
      const spoofed = await loginForm('10.9.8.7, 203.0.113.7');
      assert.equal((await spoofed('wrong password, attempt')).status, 429);
    });
  });
}
