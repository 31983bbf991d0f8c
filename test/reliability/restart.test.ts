import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, codeFlow, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

for (const backend of backends()) {
  describe(`restart (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('keeps clients, users, sessions, refresh tokens and key ids across a restart', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens, ua } = await loginAndGetTokens(gh, config, { user });
      const jwksBefore = await (await fetch(`${gh.issuer}/jwks`)).json();

      await gh.restart();

      const jwksAfter = await (await fetch(`${gh.issuer}/jwks`)).json();
      assert.deepEqual(jwksAfter, jwksBefore, 'same keys and kids');
      assert.equal((await gh.admin('GET', `/admin/clients/${app.client_id}`)).status, 200);
      assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).status, 200);

      const config2 = await discover(gh, app);
      const refreshed = await client.refreshTokenGrant(config2, tokens.refresh_token!);
      assert.ok(refreshed.access_token);
      assert.equal(refreshed.claims()?.sub, user.id);

      // The browser session survives: prompt=none signs the user in silently.
      const flow = await codeFlow(gh, config2, { user, ua, extra: { prompt: 'none' } });
      assert.ok(flow.callbackUrl.searchParams.get('code'), `silent sign-in after restart: ${flow.callbackUrl}`);
      const silent = await client.authorizationCodeGrant(config2, flow.callbackUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      });
      assert.equal(silent.claims()?.sub, user.id);
    });
  });
}
