import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

for (const backend of backends()) {
  describe(`audit log disabled (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, { env: { AUDIT_LOG_ENABLED: 'false' } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('signs in, issues and revokes tokens as usual, stores no audit rows and lists an empty log', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);

      // A failed sign-in first (an emitter that records on the error path), then the whole flow.
      const ua = new UserAgent();
      const login = await ua.follow(
        client
          .buildAuthorizationUrl(config, {
            redirect_uri: 'http://127.0.0.1:8976/callback',
            scope: 'openid',
            prompt: 'consent',
            code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
            code_challenge_method: 'S256',
          })
          .toString(),
        gh.issuer,
      );
      const failed = await ua.follow(new URL(formAction(login.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(login.html!, 'csrf'), email: user.email, password: 'not the right password at all' },
      });
      assert.equal(failed.res.status, 401);

      const { tokens } = await loginAndGetTokens(gh, config, { user });
      assert.ok(tokens.access_token && tokens.refresh_token);
      const rotated = await client.refreshTokenGrant(config, tokens.refresh_token);
      await client.tokenRevocation(config, rotated.refresh_token!);

      // Restart: a buffered log would write everything queued on shutdown.
      await gh.restart();
      const rows = await gh.instance.database.db()('audit_events').count<{ count: string | number }[]>({ count: '*' });
      assert.equal(Number(rows[0]!.count), 0, 'audit rows were stored');

      const list = await gh.admin('GET', '/admin/audit-events');
      assert.equal(list.status, 200, JSON.stringify(list.body));
      assert.deepEqual(list.body, { items: [], next_cursor: null });
      const exported = await gh.admin('GET', '/admin/audit-events/export');
      assert.equal(exported.status, 200);
      assert.equal(exported.body, undefined, 'the export is not empty');
    });
  });
}
