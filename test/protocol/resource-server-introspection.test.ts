import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const unique = () => Math.random().toString(36).slice(2);

for (const backend of backends()) {
  describe(`resource servers introspect tokens for their API (${backend})`, () => {
    let gh: RunningGatehouse;
    const orders = `https://orders-${unique()}.example.test`;
    const billing = `https://billing-${unique()}.example.test`;

    /** A resource server: a confidential client that only authenticates (it never asks for tokens itself). */
    async function resourceServer(name: string) {
      const res = await gh.admin('POST', '/admin/clients', { client_name: name, grant_types: ['client_credentials'] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.client_id as string, config: await discover(gh, res.body) };
    }

    let ordersRs: Awaited<ReturnType<typeof resourceServer>>;
    let billingRs: Awaited<ReturnType<typeof resourceServer>>;
    let unlistedRs: Awaited<ReturnType<typeof resourceServer>>;

    before(async () => {
      gh = await startGatehouse(backend);
      ordersRs = await resourceServer('Orders API');
      billingRs = await resourceServer('Billing API');
      unlistedRs = await resourceServer('Some other service');
      const a = await gh.admin('POST', '/admin/resources', {
        indicator: orders,
        scopes: [{ name: 'orders:read' }],
        access_token_format: 'jwt',
        introspection_clients: [ordersRs.id],
      });
      assert.equal(a.status, 201, JSON.stringify(a.body));
      assert.deepEqual(a.body.introspection_clients, [ordersRs.id]);
      const b = await gh.admin('POST', '/admin/resources', {
        indicator: billing,
        scopes: [{ name: 'billing:read' }],
        access_token_format: 'opaque',
      });
      assert.equal(b.status, 201, JSON.stringify(b.body));
      // Named later by PATCH, which leaves the API's other settings alone.
      const patched = await gh.admin('PATCH', `/admin/resources/${encodeURIComponent(billing)}`, {
        introspection_clients: [billingRs.id],
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.introspection_clients, [billingRs.id]);
      assert.deepEqual(patched.body.scopes, [{ name: 'billing:read' }]);
      assert.equal(patched.body.access_token_format, 'opaque');
    });
    after(async () => {
      await gh?.destroy();
    });

    /** A user signed in to a new app with a JWT access token for the orders API. */
    async function signInForOrders() {
      const user = await createUser(gh);
      const app = await createClient(gh, { scope: 'openid offline_access orders:read' });
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid offline_access orders:read',
        extra: { resource: orders },
      });
      return { user, app, config, tokens };
    }

    it("lets a listed resource server introspect an app's JWT access token for its API, with the claims", async () => {
      const { user, app, tokens } = await signInForOrders();
      assert.equal(tokens.access_token.split('.').length, 3, 'JWT for the API');

      const info = await client.tokenIntrospection(ordersRs.config, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.sub, user.id);
      assert.equal(info.client_id, app.client_id);
      assert.equal(info.aud, orders);
      assert.equal(info.scope, 'orders:read');
      assert.ok(info.exp! > Math.floor(Date.now() / 1000));

      // Not listed, or listed for another API: nothing to see.
      assert.deepEqual(await client.tokenIntrospection(unlistedRs.config, tokens.access_token), { active: false });
      assert.deepEqual(await client.tokenIntrospection(billingRs.config, tokens.access_token), { active: false });
      // The refresh token is the app's alone, even for the API's resource server.
      assert.deepEqual(await client.tokenIntrospection(ordersRs.config, tokens.refresh_token!), { active: false });
    });

    it("lets a listed resource server introspect an opaque access token for its API, and no one else's", async () => {
      const worker = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
        scope: 'billing:read',
      });
      assert.equal(worker.status, 201, JSON.stringify(worker.body));
      const workerConfig = await discover(gh, worker.body);
      const { access_token } = await client.clientCredentialsGrant(workerConfig, {
        scope: 'billing:read',
        resource: billing,
      });
      assert.equal(access_token.split('.').length, 1, 'opaque');

      const info = await client.tokenIntrospection(billingRs.config, access_token);
      assert.equal(info.active, true);
      assert.equal(info.client_id, worker.body.client_id);
      assert.equal(info.aud, billing);
      assert.equal(info.scope, 'billing:read');
      assert.deepEqual(await client.tokenIntrospection(ordersRs.config, access_token), { active: false });
      assert.deepEqual(await client.tokenIntrospection(unlistedRs.config, access_token), { active: false });
    });

    it("does not let a resource server revoke someone else's token", async () => {
      const { config, tokens } = await signInForOrders();
      await client.tokenRevocation(ordersRs.config, tokens.access_token);
      await client.tokenRevocation(ordersRs.config, tokens.refresh_token!);
      assert.equal((await client.tokenIntrospection(ordersRs.config, tokens.access_token)).active, true);
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);
      assert.equal((await client.tokenIntrospection(config, tokens.refresh_token!)).active, true);
    });

    it('stops answering a resource server once the admin removes it from the list', async () => {
      const worker = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
        scope: 'billing:read',
      });
      const { access_token } = await client.clientCredentialsGrant(await discover(gh, worker.body), {
        scope: 'billing:read',
        resource: billing,
      });
      const rs = await resourceServer('Short-lived RS');
      const path = `/admin/resources/${encodeURIComponent(billing)}`;
      assert.equal((await gh.admin('PATCH', path, { introspection_clients: [billingRs.id, rs.id] })).status, 200);
      assert.equal((await client.tokenIntrospection(rs.config, access_token)).active, true);
      assert.equal((await gh.admin('PATCH', path, { introspection_clients: [billingRs.id] })).status, 200);
      assert.deepEqual(await client.tokenIntrospection(rs.config, access_token), { active: false });
    });

    it('refuses introspection_clients that are malformed, repeated or not registered clients', async () => {
      const cases: unknown[] = [['has space'], [''], [ordersRs.id, ordersRs.id], ['no-such-client'], 'not-a-list'];
      for (const introspection_clients of cases) {
        const res = await gh.admin('POST', '/admin/resources', {
          indicator: `https://x-${unique()}.example.test`,
          introspection_clients,
        });
        assert.equal(res.status, 400, `${JSON.stringify(introspection_clients)}: ${JSON.stringify(res.body)}`);
      }
      const patch = await gh.admin('PATCH', `/admin/resources/${encodeURIComponent(orders)}`, {
        introspection_clients: ['no-such-client'],
      });
      assert.equal(patch.status, 400);
      assert.deepEqual(
        (await gh.admin('GET', `/admin/resources/${encodeURIComponent(orders)}`)).body.introspection_clients,
        [ordersRs.id],
      );
    });
  });
}
