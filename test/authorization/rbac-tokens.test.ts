import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const rand = () => Math.random().toString(36).slice(2, 10);
const scopesOf = (scope: unknown) => (typeof scope === 'string' && scope ? scope.split(' ').sort() : []);

for (const backend of backends()) {
  describe(`tokens carry only granted permissions (${backend})`, () => {
    let gh: RunningGatehouse;
    let jwks: ReturnType<typeof createRemoteJWKSet>;
    const orders = `https://orders-${rand()}.example.test`;
    const open = `https://open-${rand()}.example.test`;
    const verify = async (token: string, audience: string) =>
      (await jwtVerify(token, jwks, { issuer: gh.issuer, audience, typ: 'at+jwt' })).payload;

    before(async () => {
      gh = await startGatehouse(backend);
      jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
      for (const indicator of [orders, open]) {
        const res = await gh.admin('POST', '/admin/resources', {
          indicator,
          scopes: [{ name: 'orders:read' }, { name: 'orders:write' }],
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      // A role naming `orders` makes it RBAC-enforced; nothing names `open`.
      const role = await gh.admin('POST', '/admin/roles', {
        name: 'orders-reader',
        permissions: [{ resource: orders, scope: 'orders:read' }],
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));
    });
    after(async () => {
      await gh?.destroy();
    });

    it('a user gets only the held scope on an enforced API; the next refresh follows a role change, earlier tokens stay', async () => {
      const user = await createUser(gh);
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/orders-reader`)).status, 204);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid offline_access orders:read orders:write',
        extra: { resource: orders },
      });
      const first = await verify(tokens.access_token, orders);
      assert.equal(first.sub, user.id);
      assert.deepEqual(scopesOf(first.scope), ['orders:read'], 'orders:write is requested but not held');
      assert.deepEqual(scopesOf(decodeJwt(tokens.access_token).scope), ['orders:read']);

      // Still held: a refresh keeps the scope.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.deepEqual(scopesOf((await verify(refreshed.access_token, orders)).scope), ['orders:read']);

      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/roles/orders-reader`)).status, 204);
      const afterUnassign = await client.refreshTokenGrant(config, refreshed.refresh_token!);
      const payload = await verify(afterUnassign.access_token, orders);
      assert.deepEqual(scopesOf(payload.scope), [], 'no orders scope once the role is gone');

      // Tokens issued before the change are unchanged (they are not re-minted).
      assert.deepEqual(scopesOf((await verify(tokens.access_token, orders)).scope), ['orders:read']);
      assert.deepEqual(scopesOf((await verify(refreshed.access_token, orders)).scope), ['orders:read']);
    });

    it('counts direct permissions as held', async () => {
      const user = await createUser(gh);
      assert.equal(
        (await gh.admin('PUT', `/admin/users/${user.id}/permissions`, { resource: orders, scope: 'orders:write' }))
          .status,
        204,
      );
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid orders:read orders:write',
        extra: { resource: orders },
      });
      assert.deepEqual(scopesOf((await verify(tokens.access_token, orders)).scope), ['orders:write']);
      const revoke = `/admin/users/${user.id}/permissions?${new URLSearchParams({ resource: orders, scope: 'orders:write' })}`;
      assert.equal((await gh.admin('DELETE', revoke)).status, 204);
    });

    it('a user without any role gets nothing on an enforced API', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid orders:read orders:write',
        extra: { resource: orders },
      });
      assert.deepEqual(scopesOf((await verify(tokens.access_token, orders)).scope), []);
    });

    it('an API that no role or grant names keeps today’s behaviour: every requested scope', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid orders:read orders:write',
        extra: { resource: open },
      });
      assert.deepEqual(scopesOf((await verify(tokens.access_token, open)).scope), ['orders:read', 'orders:write']);
    });

    it('client_credentials: the client’s roles restrict an enforced API; the registered scope still applies', async () => {
      const res = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
        scope: 'orders:read orders:write',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const worker = res.body as { client_id: string; client_secret: string };
      const config = await discover(gh, worker);
      const grant = (resource: string) =>
        client.clientCredentialsGrant(config, { scope: 'orders:read orders:write', resource });

      assert.deepEqual(
        scopesOf((await verify((await grant(orders)).access_token, orders)).scope),
        [],
        'no role: nothing on the enforced API',
      );
      assert.deepEqual(
        scopesOf((await verify((await grant(open)).access_token, open)).scope),
        ['orders:read', 'orders:write'],
        'unenforced API unchanged',
      );

      assert.equal((await gh.admin('PUT', `/admin/clients/${worker.client_id}/roles/orders-reader`)).status, 204);
      const held = await grant(orders);
      assert.equal(held.scope, 'orders:read');
      assert.deepEqual(scopesOf((await verify(held.access_token, orders)).scope), ['orders:read']);

      // A role granting write does not widen a client registered for read only.
      const writer = `orders-writer-${rand()}`;
      assert.equal(
        (
          await gh.admin('POST', '/admin/roles', {
            name: writer,
            permissions: [{ resource: orders, scope: 'orders:write' }],
          })
        ).status,
        201,
      );
      const narrow = (
        await gh.admin('POST', '/admin/clients', {
          client_name: 'Reader',
          grant_types: ['client_credentials'],
          scope: 'orders:read',
        })
      ).body;
      assert.equal((await gh.admin('PUT', `/admin/clients/${narrow.client_id}/roles/${writer}`)).status, 204);
      const narrowConfig = await discover(gh, narrow);
      const narrowTokens = await client.clientCredentialsGrant(narrowConfig, {
        scope: 'orders:read',
        resource: orders,
      });
      assert.deepEqual(
        scopesOf((await verify(narrowTokens.access_token, orders)).scope),
        [],
        'holds write only, may ask for read only',
      );
      assert.equal((await gh.admin('DELETE', `/admin/roles/${writer}`)).status, 204);
    });
  });

  describe(`roles claim (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
      const api = `https://claims-${rand()}.example.test`;
      assert.equal(
        (await gh.admin('POST', '/admin/resources', { indicator: api, scopes: [{ name: 'x' }] })).status,
        201,
      );
      for (const name of ['auditor', 'support']) {
        assert.equal(
          (await gh.admin('POST', '/admin/roles', { name, permissions: [{ resource: api, scope: 'x' }] })).status,
          201,
        );
      }
    });
    after(async () => {
      await gh?.destroy();
    });

    async function signIn(metadata: Record<string, unknown>) {
      const user = await createUser(gh);
      for (const role of ['support', 'auditor'])
        assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/${role}`)).status, 204);
      const app = await createClient(gh, metadata);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user, scope: 'openid email offline_access' });
      return { user, app, config, tokens };
    }

    it('is in the ID token and userinfo when the client has roles_claim: true', async () => {
      const { user, app, config, tokens } = await signIn({ roles_claim: true });
      assert.equal((await gh.admin('GET', `/admin/clients/${app.client_id}`)).body.roles_claim, true);
      assert.deepEqual(tokens.claims()?.roles, ['auditor', 'support']);
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
      assert.deepEqual(info.roles, ['auditor', 'support']);

      // Read when claims are: a change shows in the next ID token.
      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/roles/support`)).status, 204);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.deepEqual(refreshed.claims()?.roles, ['auditor']);
    });

    it('is absent otherwise', async () => {
      for (const metadata of [{}, { roles_claim: false }]) {
        const { user, config, tokens } = await signIn(metadata);
        assert.equal(tokens.claims()?.roles, undefined);
        const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
        assert.equal(info.roles, undefined);
      }
    });

    it('refuses a non-boolean roles_claim', async () => {
      const res = await gh.admin('POST', '/admin/clients', {
        redirect_uris: ['http://127.0.0.1:8976/callback'],
        roles_claim: 'yes',
      });
      assert.equal(res.status, 400);
    });
  });
}
