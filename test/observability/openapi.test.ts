import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import Router from '@koa/router';
import { z } from 'zod';
import { buildOpenApi, op } from '../../src/http/admin/openapi.js';

describe('admin OpenAPI generation', () => {
  it('lists registered routes only: undescribed ones as x-undocumented, unregistered entries not at all', () => {
    const r = new Router({ prefix: '/admin' });
    r.post('/widgets', () => undefined);
    r.get('/widgets/:id', () => undefined);
    const doc = buildOpenApi([
      op('post', '/admin/widgets', 'Make a widget', [201, 400], z.object({ name: z.string() })),
      op('delete', '/admin/gadgets/:id', 'Not registered', [204]),
    ], r, { title: 't', version: '1' }) as { paths: Record<string, Record<string, any>> };
    assert.deepEqual(doc.paths['/admin/widgets']!.post.requestBody.content['application/json'].schema.required, ['name']);
    assert.equal(doc.paths['/admin/widgets/{id}']!.get['x-undocumented'], true);
    assert.equal(doc.paths['/admin/gadgets/{id}'], undefined);
  });
});

for (const backend of backends()) {
  describe(`admin OpenAPI document (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => { gh = await startGatehouse(backend); });
    after(async () => { await gh?.destroy(); });

    it('requires the admin key', async () => {
      const res = await fetch(`${gh.adminUrl}/admin/openapi.json`);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.equal((await res.json() as { paths?: unknown }).paths, undefined);
    });

    it('describes the admin API with the schemas the routes validate with', async () => {
      const res = await gh.admin('GET', '/admin/openapi.json');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const doc = res.body;
      assert.match(doc.openapi, /^3\.1\.\d+$/);
      assert.ok(doc.info?.title && doc.info?.version);

      const create = doc.paths['/admin/clients']?.post;
      assert.ok(create, 'POST /admin/clients');
      const schema = create.requestBody.content['application/json'].schema;
      assert.equal(schema.type, 'object');
      assert.ok(schema.properties.redirect_uris, 'redirect_uris in the client schema');
      assert.deepEqual(schema.properties.grant_types.items.enum.sort(), ['authorization_code', 'client_credentials', 'refresh_token']);
      assert.ok(create.responses['201'] && create.responses['401']);

      assert.ok(doc.paths['/admin/users']?.post, 'POST /admin/users');
      assert.ok(doc.paths['/admin/users'].post.requestBody.content['application/json'].schema.properties.email);
      assert.ok(doc.paths['/admin/users']?.get, 'GET /admin/users');
      const userPath = doc.paths['/admin/users/{id}'];
      assert.ok(userPath?.patch && userPath?.delete);
      assert.deepEqual(userPath.patch.parameters.map((p: { name: string; in: string }) => [p.name, p.in]), [['id', 'path']]);
      assert.ok(doc.paths['/admin/resources']?.post.requestBody.content['application/json'].schema.properties.indicator);

      // /metrics is documented as served without the key; everything else needs it.
      assert.deepEqual(doc.paths['/metrics']?.get.security, []);
      assert.deepEqual(doc.security, [{ adminKey: [] }]);
      assert.equal(doc.components.securitySchemes.adminKey.scheme, 'bearer');
    });

  });
}
