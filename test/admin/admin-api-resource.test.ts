import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';

const ADMIN = 'urn:gatehouse:admin';

/** Issue 12 §2: the built-in admin API is discoverable like any API, and cannot be changed. */
for (const backend of backends()) {
  describe(`the built-in admin API resource (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, { env: { ADMIN_ACCESS_TOKEN_TTL_SECONDS: '240' } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('is listed by GET /admin/resources, marked built_in, with its scopes', async () => {
      const list = await gh.admin('GET', '/admin/resources');
      assert.equal(list.status, 200);
      const admin = (list.body.items as any[]).find((r) => r.indicator === ADMIN);
      assert.ok(admin, 'urn:gatehouse:admin listed');
      assert.equal(admin.built_in, true);
      assert.deepEqual(
        admin.scopes.map((s: { name: string }) => s.name),
        ['admin:read', 'admin:write'],
      );
      assert.equal(admin.access_token_ttl_seconds, 240);
      assert.equal(admin.access_token_format, 'jwt');

      const one = await gh.admin('GET', `/admin/resources/${encodeURIComponent(ADMIN)}`);
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, admin);
    });

    it('answers 409 to creating, changing or deleting it, and stays as it was', async () => {
      const created = await gh.admin('POST', '/admin/resources', {
        indicator: ADMIN,
        scopes: [{ name: 'admin:everything' }],
      });
      assert.equal(created.status, 409, JSON.stringify(created.body));
      assert.equal(created.body.error, 'conflict');
      const patched = await gh.admin('PATCH', `/admin/resources/${encodeURIComponent(ADMIN)}`, {
        scopes: [{ name: 'admin:everything' }],
      });
      assert.equal(patched.status, 409, JSON.stringify(patched.body));
      const deleted = await gh.admin('DELETE', `/admin/resources/${encodeURIComponent(ADMIN)}`);
      assert.equal(deleted.status, 409, JSON.stringify(deleted.body));
      const after = await gh.admin('GET', `/admin/resources/${encodeURIComponent(ADMIN)}`);
      assert.deepEqual(
        after.body.scopes.map((s: { name: string }) => s.name),
        ['admin:read', 'admin:write'],
      );
    });

    it('ordinary APIs are not marked built_in', async () => {
      const indicator = `https://api-${Math.random().toString(36).slice(2)}.example.test`;
      assert.equal((await gh.admin('POST', '/admin/resources', { indicator, scopes: [{ name: 'read' }] })).status, 201);
      const list = await gh.admin('GET', '/admin/resources');
      const mine = (list.body.items as any[]).find((r) => r.indicator === indicator);
      assert.ok(mine);
      assert.notEqual(mine.built_in, true);
      assert.equal((await gh.admin('DELETE', `/admin/resources/${encodeURIComponent(indicator)}`)).status, 204);
    });
  });
}
