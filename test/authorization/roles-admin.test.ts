import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { createClient, createUser } from '../support/relying-party.js';

const rand = () => Math.random().toString(36).slice(2, 10);

for (const backend of backends()) {
  describe(`roles and permissions admin API (${backend})`, () => {
    let gh: RunningGatehouse;
    const api = `https://orders-${rand()}.example.test`;
    const other = `https://billing-${rand()}.example.test`;

    before(async () => {
      gh = await startGatehouse(backend);
      for (const [indicator, scopes] of [
        [api, ['orders:read', 'orders:write']],
        [other, ['billing:read']],
      ] as const) {
        const res = await gh.admin('POST', '/admin/resources', { indicator, scopes: scopes.map((name) => ({ name })) });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
    });
    after(async () => {
      await gh?.destroy();
    });

    it('creates, reads, lists, changes and deletes a role', async () => {
      const name = `reader-${rand()}`;
      const created = await gh.admin('POST', '/admin/roles', {
        name,
        description: 'Reads orders',
        permissions: [{ resource: api, scope: 'orders:read' }],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.headers.get('location'), `/admin/roles/${name}`);
      assert.equal(created.body.name, name);
      assert.deepEqual(created.body.permissions, [{ resource: api, scope: 'orders:read' }]);

      const read = await gh.admin('GET', `/admin/roles/${name}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.description, 'Reads orders');
      assert.ok((await gh.admin('GET', '/admin/roles')).body.items.some((r: { name: string }) => r.name === name));

      const renamed = `${name}-v2`;
      const patched = await gh.admin('PATCH', `/admin/roles/${name}`, {
        name: renamed,
        permissions: [
          { resource: api, scope: 'orders:write' },
          { resource: other, scope: 'billing:read' },
        ],
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.name, renamed);
      assert.equal(patched.body.description, 'Reads orders', 'unchanged fields stay');
      assert.deepEqual(
        patched.body.permissions,
        [
          { resource: other, scope: 'billing:read' },
          { resource: api, scope: 'orders:write' },
        ].sort((a, b) => a.resource.localeCompare(b.resource)),
      );
      assert.equal((await gh.admin('GET', `/admin/roles/${name}`)).status, 404, 'the old name is gone');

      assert.equal((await gh.admin('DELETE', `/admin/roles/${renamed}`)).status, 204);
      assert.equal((await gh.admin('GET', `/admin/roles/${renamed}`)).status, 404);
      assert.equal((await gh.admin('DELETE', `/admin/roles/${renamed}`)).status, 404);
      assert.equal((await gh.admin('PATCH', `/admin/roles/${renamed}`, { description: 'x' })).status, 404);
    });

    it('refuses bad roles: unknown resource or scope (400), malformed (400), duplicate name (409)', async () => {
      const name = `r-${rand()}`;
      const unknownScope = await gh.admin('POST', '/admin/roles', {
        name,
        permissions: [{ resource: api, scope: 'orders:delete' }],
      });
      assert.equal(unknownScope.status, 400);
      assert.equal(unknownScope.body.error, 'invalid_request');
      assert.match(unknownScope.body.error_description, /orders:delete/);
      const unknownResource = await gh.admin('POST', '/admin/roles', {
        name,
        permissions: [{ resource: 'https://nope.example.test', scope: 'x' }],
      });
      assert.equal(unknownResource.status, 400);
      assert.equal((await gh.admin('POST', '/admin/roles', { name: 'has space', permissions: [] })).status, 400);
      assert.equal((await gh.admin('POST', '/admin/roles', { name, permissions: [{ resource: api }] })).status, 400);
      assert.equal((await gh.admin('POST', '/admin/roles', { name, extra: true })).status, 400);
      assert.equal((await gh.admin('POST', '/admin/roles', [name])).status, 400);

      assert.equal(
        (await gh.admin('POST', '/admin/roles', { name })).status,
        201,
        'a role without permissions is fine',
      );
      assert.equal((await gh.admin('POST', '/admin/roles', { name })).status, 409);
      const second = `r-${rand()}`;
      assert.equal((await gh.admin('POST', '/admin/roles', { name: second })).status, 201);
      assert.equal(
        (await gh.admin('PATCH', `/admin/roles/${second}`, { name })).status,
        409,
        'renaming onto a taken name',
      );
      assert.equal(
        (await gh.admin('PATCH', `/admin/roles/${second}`, { permissions: [{ resource: api, scope: 'nope' }] })).status,
        400,
      );
    });

    it('assigns and unassigns roles to users, with 404 / 400 / 409 for unknown, invalid and duplicate', async () => {
      const user = await createUser(gh);
      const role = `ops-${rand()}`;
      assert.equal(
        (await gh.admin('POST', '/admin/roles', { name: role, permissions: [{ resource: api, scope: 'orders:read' }] }))
          .status,
        201,
      );

      assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/roles`)).body.items, []);
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/${role}`)).status, 204);
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/${role}`)).status, 409, 'already assigned');
      const roles = (await gh.admin('GET', `/admin/users/${user.id}/roles`)).body.items;
      assert.deepEqual(
        roles.map((r: { name: string }) => r.name),
        [role],
      );

      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/no-such-role`)).status, 400);
      assert.equal((await gh.admin('PUT', `/admin/users/no-such-user/roles/${role}`)).status, 404);
      assert.equal((await gh.admin('GET', '/admin/users/no-such-user/roles')).status, 404);

      assert.equal((await gh.admin('DELETE', `/admin/users/${user.id}/roles/${role}`)).status, 204);
      assert.equal(
        (await gh.admin('DELETE', `/admin/users/${user.id}/roles/${role}`)).status,
        404,
        'not assigned any more',
      );
      assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/roles`)).body.items, []);
    });

    it('assigns roles to clients', async () => {
      const app = await createClient(gh);
      const role = `svc-${rand()}`;
      assert.equal(
        (
          await gh.admin('POST', '/admin/roles', {
            name: role,
            permissions: [{ resource: other, scope: 'billing:read' }],
          })
        ).status,
        201,
      );
      assert.equal((await gh.admin('PUT', `/admin/clients/${app.client_id}/roles/${role}`)).status, 204);
      assert.equal((await gh.admin('PUT', `/admin/clients/${app.client_id}/roles/${role}`)).status, 409);
      assert.deepEqual(
        (await gh.admin('GET', `/admin/clients/${app.client_id}/roles`)).body.items.map(
          (r: { name: string }) => r.name,
        ),
        [role],
      );
      assert.equal((await gh.admin('PUT', `/admin/clients/no-such-client/roles/${role}`)).status, 404);
      assert.equal((await gh.admin('PUT', `/admin/clients/${app.client_id}/roles/nope`)).status, 400);
      assert.equal((await gh.admin('DELETE', `/admin/clients/${app.client_id}/roles/${role}`)).status, 204);
      assert.deepEqual((await gh.admin('GET', `/admin/clients/${app.client_id}/roles`)).body.items, []);

      // Deleting the client removes its assignments with it; the role stays.
      assert.equal((await gh.admin('PUT', `/admin/clients/${app.client_id}/roles/${role}`)).status, 204);
      assert.equal((await gh.admin('DELETE', `/admin/clients/${app.client_id}`)).status, 204);
      assert.equal((await gh.admin('GET', `/admin/roles/${role}`)).status, 200);
    });

    it('grants permissions directly and shows effective permissions as the union', async () => {
      const user = await createUser(gh);
      const role = `mix-${rand()}`;
      assert.equal(
        (await gh.admin('POST', '/admin/roles', { name: role, permissions: [{ resource: api, scope: 'orders:read' }] }))
          .status,
        201,
      );
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/roles/${role}`)).status, 204);
      const direct = { resource: other, scope: 'billing:read' };
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/permissions`, direct)).status, 204);
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/permissions`, direct)).status, 409);
      // Also held through the role: listed once in the union.
      assert.equal(
        (await gh.admin('PUT', `/admin/users/${user.id}/permissions`, { resource: api, scope: 'orders:read' })).status,
        204,
      );

      const perms = await gh.admin('GET', `/admin/users/${user.id}/permissions`);
      assert.equal(perms.status, 200);
      assert.deepEqual(perms.body.roles, [role]);
      assert.equal(perms.body.direct.length, 2);
      assert.deepEqual(
        perms.body.effective.map((p: { resource: string; scope: string }) => `${p.scope}@${p.resource}`).sort(),
        [`billing:read@${other}`, `orders:read@${api}`].sort(),
      );

      assert.equal(
        (await gh.admin('PUT', `/admin/users/${user.id}/permissions`, { resource: api, scope: 'orders:nope' })).status,
        400,
      );
      assert.equal((await gh.admin('PUT', `/admin/users/${user.id}/permissions`, { resource: api })).status, 400);
      assert.equal((await gh.admin('PUT', '/admin/users/no-such-user/permissions', direct)).status, 404);
      assert.equal((await gh.admin('GET', '/admin/users/no-such-user/permissions')).status, 404);

      const revoke = `/admin/users/${user.id}/permissions?${new URLSearchParams(direct)}`;
      assert.equal((await gh.admin('DELETE', revoke)).status, 204);
      assert.equal((await gh.admin('DELETE', revoke)).status, 404);
      assert.equal(
        (await gh.admin('DELETE', `/admin/users/${user.id}/permissions?resource=${encodeURIComponent(api)}`)).status,
        400,
        'scope missing',
      );
      const after = (await gh.admin('GET', `/admin/users/${user.id}/permissions`)).body;
      assert.deepEqual(after.effective, [{ resource: api, scope: 'orders:read' }]);
    });

    it('records role changes in the audit log', async () => {
      const user = await createUser(gh);
      const role = `audited-${rand()}`;
      await gh.admin('POST', '/admin/roles', { name: role, permissions: [{ resource: api, scope: 'orders:read' }] });
      await gh.admin('PATCH', `/admin/roles/${role}`, { description: 'changed' });
      await gh.admin('PUT', `/admin/users/${user.id}/roles/${role}`);
      await gh.admin('DELETE', `/admin/users/${user.id}/roles/${role}`);
      await gh.admin('PUT', `/admin/users/${user.id}/permissions`, { resource: api, scope: 'orders:write' });
      await gh.admin(
        'DELETE',
        `/admin/users/${user.id}/permissions?${new URLSearchParams({ resource: api, scope: 'orders:write' })}`,
      );
      await gh.admin('DELETE', `/admin/roles/${role}`);

      const events = async (type: string) =>
        (await gh.admin('GET', `/admin/audit-events?type=${type}`)).body.items as Array<{
          actor: string;
          subject: string | null;
          data: Record<string, any>;
        }>;
      for (const type of ['role.created', 'role.updated', 'role.deleted']) {
        const found = (await events(type)).find((e) => e.data.role === role);
        assert.ok(found, type);
        assert.equal(found.actor, 'admin:key');
      }
      assert.deepEqual((await events('role.updated')).find((e) => e.data.role === role)!.data.changed, ['description']);
      for (const type of ['role.assigned', 'role.unassigned']) {
        const found = (await events(type)).find((e) => e.subject === user.id);
        assert.equal(found?.data.role, role, type);
      }
      for (const type of ['permission.granted', 'permission.revoked']) {
        const found = (await events(type)).find((e) => e.subject === user.id);
        assert.deepEqual(found?.data, { resource: api, scope: 'orders:write' }, type);
      }
    });

    it('documents the role routes in the OpenAPI document', async () => {
      const doc = (await gh.admin('GET', '/admin/openapi.json')).body;
      assert.ok(doc.paths['/admin/roles'].post.requestBody.content['application/json'].schema.properties.permissions);
      assert.ok(doc.paths['/admin/roles/{role}'].patch);
      assert.ok(doc.paths['/admin/users/{id}/roles/{role}'].put);
      assert.ok(doc.paths['/admin/clients/{id}/roles/{role}'].delete);
      assert.ok(doc.paths['/admin/users/{id}/permissions'].put.requestBody);
      assert.equal(doc.paths['/admin/users/{id}/roles'].get['x-undocumented'], undefined);
    });
  });
}
