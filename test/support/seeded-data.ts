import assert from 'node:assert/strict';
import type { RunningGatehouse } from './gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from './relying-party.js';

/** What a deployment holds that must survive a backup, a restore or a move between databases. */
export interface SeededData {
  user: { id: string; email: string; password: string };
  app: { client_id: string; client_secret: string };
  service: { client_id: string; client_secret: string };
  api: string;
  role: string;
  refreshToken: string;
}

/** A user, a web app with a live refresh token, an API with a role, a service client. */
export async function seedData(gh: RunningGatehouse): Promise<SeededData> {
  const user = await createUser(gh);
  const app = (await createClient(gh, { client_name: 'Seeded App' })) as SeededData['app'];
  const { tokens } = await loginAndGetTokens(gh, await discover(gh, app), { user });
  assert.ok(tokens.refresh_token);
  const api = `https://seeded-${Date.now()}.example`;
  assert.equal(
    (await gh.admin('POST', '/admin/resources', { indicator: api, name: 'Seeded API', scopes: [{ name: 'read' }] }))
      .status,
    201,
  );
  const role = `seeded-${Date.now()}`;
  assert.equal(
    (await gh.admin('POST', '/admin/roles', { name: role, permissions: [{ resource: api, scope: 'read' }] })).status,
    201,
  );
  assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/${role}`)).status, 204);
  const service = (await createClient(gh, {
    client_name: 'Seeded Job',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    post_logout_redirect_uris: [],
    scope: 'read',
  })) as SeededData['service'];
  return { user, app, service, api, role, refreshToken: tokens.refresh_token! };
}

/** Everything seeded is there and works: the user signs in, the refresh token refreshes, the service gets a token. */
export async function assertDataIntact(gh: RunningGatehouse, seeded: SeededData): Promise<void> {
  const user = await gh.admin('GET', `/admin/users/${seeded.user.id}`);
  assert.equal(user.status, 200);
  assert.equal(user.body.email, seeded.user.email);
  const roles = await gh.admin('GET', `/admin/users/${seeded.user.id}/roles`);
  assert.deepEqual(
    roles.body.items.map((r: { name: string }) => r.name),
    [seeded.role],
  );

  const config = await discover(gh, seeded.app);
  const refreshed = await client.refreshTokenGrant(config, seeded.refreshToken);
  assert.ok(refreshed.access_token, 'the refresh token from before still refreshes');
  const { tokens } = await loginAndGetTokens(gh, config, { user: seeded.user });
  assert.equal(tokens.claims()?.sub, seeded.user.id, 'the user signs in with the same password');

  const service = await discover(gh, seeded.service);
  const cc = await client.clientCredentialsGrant(service, { scope: 'read', resource: seeded.api });
  assert.ok(cc.access_token, 'the service client authenticates with its secret');
}
