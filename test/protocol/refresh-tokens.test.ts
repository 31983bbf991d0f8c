import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const invalidGrant = (e: Error & { error?: string }) => e.error === 'invalid_grant';

for (const backend of backends()) {
  describe(`refresh tokens (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('rotates the refresh token on every refresh for a confidential client', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      assert.ok(tokens.refresh_token);

      const first = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(first.refresh_token);
      assert.notEqual(first.refresh_token, tokens.refresh_token, 'a new refresh token on the first refresh');
      assert.notEqual(first.access_token, tokens.access_token);
      assert.equal(first.claims()?.sub, user.id, 'a refreshed ID token for the same user');

      const second = await client.refreshTokenGrant(config, first.refresh_token!);
      assert.ok(second.refresh_token);
      assert.notEqual(second.refresh_token, first.refresh_token, 'a new refresh token on every refresh');

      // The newest token keeps working: the refused ones below are refused because they were rotated.
      const introspected = await client.tokenIntrospection(config, second.refresh_token!);
      assert.equal(introspected.active, true);
    });

    it('refuses a rotated refresh token with invalid_grant (confidential client)', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const rotated = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.notEqual(rotated.refresh_token, tokens.refresh_token);
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), invalidGrant);
    });

    it('rotates and refuses rotated refresh tokens for a public client', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { token_endpoint_auth_method: 'none' });
      const config = await discover(gh, app, client.None());
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      assert.ok(tokens.refresh_token);
      const first = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(first.refresh_token);
      assert.notEqual(first.refresh_token, tokens.refresh_token);
      const second = await client.refreshTokenGrant(config, first.refresh_token!);
      assert.notEqual(second.refresh_token, first.refresh_token);
      await assert.rejects(client.refreshTokenGrant(config, first.refresh_token!), invalidGrant);
    });

    it('revokes the whole grant when a rotated refresh token is reused', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const successor = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.equal((await client.tokenIntrospection(config, successor.access_token)).active, true);
      assert.equal((await client.tokenIntrospection(config, successor.refresh_token!)).active, true);

      // An attacker (or a confused client) replays the rotated token.
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), invalidGrant);

      await assert.rejects(
        client.refreshTokenGrant(config, successor.refresh_token!),
        invalidGrant,
        'the successor is revoked too',
      );
      assert.equal((await client.tokenIntrospection(config, successor.refresh_token!)).active, false);
      assert.equal(
        (await client.tokenIntrospection(config, successor.access_token)).active,
        false,
        'access token of the family is revoked',
      );
      assert.equal(
        (await client.tokenIntrospection(config, tokens.access_token)).active,
        false,
        'the first access token is revoked',
      );
    });

    it('revokes the family for a public client on reuse', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { token_endpoint_auth_method: 'none' });
      const config = await discover(gh, app, client.None());
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const successor = await client.refreshTokenGrant(config, tokens.refresh_token!);
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), invalidGrant);
      await assert.rejects(client.refreshTokenGrant(config, successor.refresh_token!), invalidGrant);
      // Bearer access token from the family no longer works at userinfo.
      await assert.rejects(client.fetchUserInfo(config, successor.access_token, user.id));
    });

    it('issues no refresh token without offline_access', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user, scope: 'openid email' });
      assert.ok(tokens.access_token);
      assert.equal(tokens.refresh_token, undefined);
      assert.ok(!tokens.scope?.split(' ').includes('offline_access'));
    });

    it('issues no refresh token to a client not allowed the refresh_token grant', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { grant_types: ['authorization_code'] });
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      assert.ok(tokens.access_token);
      assert.equal(tokens.refresh_token, undefined);
    });
  });
}
