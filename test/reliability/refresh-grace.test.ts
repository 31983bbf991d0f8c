import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

for (const backend of backends()) {
  describe(`refresh token grace window (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('answers a retried refresh within the grace window with the same successor', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { refresh_token_grace_seconds: 30 });
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const first = await client.refreshTokenGrant(config, tokens.refresh_token!);
      const retry = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.notEqual(first.refresh_token, tokens.refresh_token);
      assert.equal(retry.refresh_token, first.refresh_token, 'the retry gets the same successor');
      // The successor still works and rotates normally.
      const next = await client.refreshTokenGrant(config, first.refresh_token!);
      assert.notEqual(next.refresh_token, first.refresh_token);
      // Once the successor has itself been rotated, the original is plain reuse: the family is revoked.
      await assert.rejects(
        client.refreshTokenGrant(config, tokens.refresh_token!),
        (e: Error & { error?: string }) => e.error === 'invalid_grant',
      );
      await assert.rejects(
        client.refreshTokenGrant(config, next.refresh_token!),
        (e: Error & { error?: string }) => e.error === 'invalid_grant',
      );
    });

    it('treats a retry as reuse when the client has no grace window (the default)', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const first = await client.refreshTokenGrant(config, tokens.refresh_token!);
      await assert.rejects(
        client.refreshTokenGrant(config, tokens.refresh_token!),
        (e: Error & { error?: string }) => e.error === 'invalid_grant',
      );
      await assert.rejects(
        client.refreshTokenGrant(config, first.refresh_token!),
        (e: Error & { error?: string }) => e.error === 'invalid_grant',
        'reuse revoked the family',
      );
    });

    it('refuses a grace window outside 0–60 seconds', async () => {
      const res = await gh.admin('POST', '/admin/clients', {
        redirect_uris: ['http://127.0.0.1:8976/callback'],
        refresh_token_grace_seconds: 61,
      });
      assert.equal(res.status, 400);
    });
  });
}
