import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';

for (const backend of backends()) {
  describe(`admin API: resources (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    const indicator = 'https://orders.example.test/api';
    const path = `/admin/resources/${encodeURIComponent(indicator)}`;

    it('creates, reads, changes, lists and deletes an API', async () => {
      const created = await gh.admin('POST', '/admin/resources', {
        indicator,
        name: 'Orders',
        scopes: [{ name: 'orders:read', description: 'Read orders' }],
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.access_token_format, 'jwt');
      assert.equal((await gh.admin('POST', '/admin/resources', { indicator, scopes: [] })).status, 409);
      assert.equal((await gh.admin('GET', path)).body.name, 'Orders');
      const patched = await gh.admin('PATCH', path, {
        scopes: [{ name: 'orders:read' }, { name: 'orders:write' }],
        access_token_ttl_seconds: 120,
      });
      assert.equal(patched.status, 200);
      assert.deepEqual(
        patched.body.scopes.map((s: { name: string }) => s.name),
        ['orders:read', 'orders:write'],
      );
      const list = await gh.admin('GET', '/admin/resources');
      assert.ok(list.body.items.some((r: { indicator: string }) => r.indicator === indicator));
      assert.equal((await gh.admin('DELETE', path)).status, 204);
      assert.equal((await gh.admin('GET', path)).status, 404);
      assert.equal((await gh.admin('DELETE', path)).status, 404);
    });

    it('refuses bad resource definitions with 400', async () => {
      for (const body of [
        { indicator: 'not a url', scopes: [] },
        { indicator: 'https://x.test/#frag', scopes: [] },
        { indicator: 'https://x.test/a', scopes: [{ name: 'has space' }] },
        { indicator: 'https://x.test/b', access_token_format: 'paseto' },
        { indicator: 'https://x.test/c', unknown: true },
      ]) {
        const res = await gh.admin('POST', '/admin/resources', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(typeof res.body.error, 'string');
      }
    });
  });
}
