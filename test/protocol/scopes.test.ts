import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

type OAuthError = Error & { error?: string; status?: number; error_description?: string };
const rand = () => Math.random().toString(36).slice(2);

/**
 * Issue 12 §2 "Scopes": unknown or unregistered scopes are errors (no silent narrowing); what
 * RBAC leaves out is said in the response's `scope`.
 */
for (const backend of backends()) {
  describe(`requested scopes (${backend})`, () => {
    let gh: RunningGatehouse;
    const orders = `https://orders-${rand()}.example.test`;

    before(async () => {
      gh = await startGatehouse(backend);
      const api = await gh.admin('POST', '/admin/resources', {
        indicator: orders,
        scopes: [{ name: 'orders:read' }, { name: 'orders:write' }],
      });
      assert.equal(api.status, 201, JSON.stringify(api.body));
    });
    after(async () => {
      await gh?.destroy();
    });

    /** The authorization response for `scope`, without signing in (the scope is checked first). */
    async function authorize(app: { client_id: string; client_secret?: string }, scope: string) {
      const config = await discover(gh, app);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope,
        resource: orders,
        state: 'st',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const res = await fetch(url, { redirect: 'manual' });
      return new URL(res.headers.get('location') ?? '/', gh.issuer);
    }

    it('an authorization request for a scope no API declares is answered invalid_scope', async () => {
      const app = await createClient(gh);
      const location = await authorize(app, 'openid orders:delete');
      assert.ok(location.href.startsWith(CALLBACK), location.href);
      assert.equal(location.searchParams.get('error'), 'invalid_scope');
      assert.match(location.searchParams.get('error_description') ?? '', /orders:delete/);
    });

    it('an authorization request for an API scope the client is not registered for is answered invalid_scope', async () => {
      const app = await createClient(gh, { scope: 'openid offline_access orders:read' });
      const location = await authorize(app, 'openid orders:write');
      assert.equal(location.searchParams.get('error'), 'invalid_scope');
      assert.match(location.searchParams.get('error_description') ?? '', /not registered/);
    });

    it('the code flow for registered, declared scopes works and every token response names the scope', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { scope: 'openid offline_access orders:read' });
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid offline_access orders:read',
        extra: { resource: orders },
      });
      // The scope of the access token, which is for the API (the OpenID scopes went into the ID token).
      assert.equal(tokens.scope, 'orders:read');
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(typeof refreshed.scope === 'string', 'refresh response carries scope');
      // A refresh cannot widen the grant: a scope the grant does not hold is invalid_scope.
      await assert.rejects(
        client.refreshTokenGrant(config, refreshed.refresh_token!, { scope: 'openid orders:write' }),
        (e: OAuthError) => e.error === 'invalid_scope',
      );
    });

    it('RBAC narrowing stays: a scope the user does not hold is left out and the response says so', async () => {
      const role = `orders-reader-${rand()}`;
      assert.equal(
        (
          await gh.admin('POST', '/admin/roles', {
            name: role,
            permissions: [{ resource: orders, scope: 'orders:read' }],
          })
        ).status,
        201,
      );
      const user = await createUser(gh);
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/${role}`)).status, 204);
      const app = await createClient(gh, { scope: 'openid orders:read orders:write' });
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid orders:read orders:write',
        extra: { resource: orders },
      });
      assert.equal(
        tokens.scope,
        'orders:read',
        'orders:write is omitted, and the response says which scopes were granted',
      );
    });
  });
}
