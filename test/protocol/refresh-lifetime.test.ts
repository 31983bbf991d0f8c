import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const ABSOLUTE_SECONDS = 4;

for (const backend of backends()) {
  describe(`refresh token chain lifetime (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, {
        env: { REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS: String(ABSOLUTE_SECONDS), REFRESH_TOKEN_TTL_SECONDS: '3600' },
      });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('ends the rotation chain at its absolute lifetime, however often it was rotated', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const started = Date.now();
      // Each successor expires no later than the chain's end, not a full REFRESH_TOKEN_TTL later.
      let current = (await client.refreshTokenGrant(config, tokens.refresh_token!)).refresh_token!;
      const info = await client.tokenIntrospection(config, current);
      assert.equal(info.active, true);
      assert.ok(
        (info.exp as number) <= Math.ceil(started / 1000) + ABSOLUTE_SECONDS + 1,
        `successor exp ${info.exp} beyond the chain's end`,
      );
      current = (await client.refreshTokenGrant(config, current)).refresh_token!;
      await sleep(ABSOLUTE_SECONDS * 1000 + 1500 - (Date.now() - started));
      await assert.rejects(
        client.refreshTokenGrant(config, current),
        (e: Error & { error?: string }) => e.error === 'invalid_grant',
      );
    });
  });
}
