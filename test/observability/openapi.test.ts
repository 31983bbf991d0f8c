import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import Router from '@koa/router';
import { z } from 'zod';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildOpenApi, op } from '../../src/http/admin/openapi.js';
import {
  auditEventResponse,
  clientResponse,
  connectionResponse,
  effectivePermissionsResponse,
  factorResponse,
  factorsResetResponse,
  listOf,
  pageOf,
  resourceResponse,
  roleResponse,
  sessionResponse,
  signingKeyResponse,
  userResponse,
} from '../../src/http/admin/admin-schemas.js';

describe('admin OpenAPI generation', () => {
  it('lists registered routes only: undescribed ones as x-undocumented, unregistered entries not at all', () => {
    const r = new Router({ prefix: '/admin' });
    r.post('/widgets', () => undefined);
    r.get('/widgets/:id', () => undefined);
    const doc = buildOpenApi(
      [
        op('post', '/admin/widgets', 'Make a widget', [201, 400], z.object({ name: z.string() })),
        op('delete', '/admin/gadgets/:id', 'Not registered', [204]),
      ],
      r,
      { title: 't', version: '1' },
    ) as { paths: Record<string, Record<string, any>> };
    assert.deepEqual(doc.paths['/admin/widgets']!.post.requestBody.content['application/json'].schema.required, [
      'name',
    ]);
    assert.equal(doc.paths['/admin/widgets/{id}']!.get['x-undocumented'], true);
    assert.equal(doc.paths['/admin/gadgets/{id}'], undefined);
  });
});

for (const backend of backends()) {
  describe(`admin OpenAPI document (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('requires the admin key', async () => {
      const res = await fetch(`${gh.adminUrl}/admin/openapi.json`);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.equal(((await res.json()) as { paths?: unknown }).paths, undefined);
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
      assert.deepEqual(schema.properties.grant_types.items.enum.sort(), [
        'authorization_code',
        'client_credentials',
        'refresh_token',
      ]);
      assert.ok(create.responses['201'] && create.responses['401']);

      assert.ok(doc.paths['/admin/users']?.post, 'POST /admin/users');
      assert.ok(doc.paths['/admin/users'].post.requestBody.content['application/json'].schema.properties.email);
      assert.ok(doc.paths['/admin/users']?.get, 'GET /admin/users');
      const userPath = doc.paths['/admin/users/{id}'];
      assert.ok(userPath?.patch && userPath?.delete);
      assert.deepEqual(
        userPath.patch.parameters.map((p: { name: string; in: string }) => [p.name, p.in]),
        [['id', 'path']],
      );
      assert.ok(
        doc.paths['/admin/resources']?.post.requestBody.content['application/json'].schema.properties.indicator,
      );

      // /metrics is documented as served without the key; everything else needs it.
      assert.deepEqual(doc.paths['/metrics']?.get.security, []);
      assert.deepEqual(doc.security, [{ adminKey: [] }]);
      assert.equal(doc.components.securitySchemes.adminKey.scheme, 'bearer');
    });

    it('is a valid OpenAPI 3.1 document (checked by an OpenAPI validator)', async () => {
      const doc = (await gh.admin('GET', '/admin/openapi.json')).body;
      const validator = new Validator();
      const result = await validator.validate(doc);
      assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 2000));
      assert.equal(validator.version, '3.1');
    });

    it('documents responses, query parameters, field descriptions and every error status', async () => {
      const doc = (await gh.admin('GET', '/admin/openapi.json')).body;
      for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
        for (const [method, operation] of Object.entries<any>(item)) {
          const where = `${method.toUpperCase()} ${path}`;
          assert.notEqual(operation['x-undocumented'], true, `${where} is undocumented`);
          const success = Object.keys(operation.responses).filter((c) => c.startsWith('2'));
          assert.ok(success.length, `${where}: a success status`);
          for (const code of success) {
            if (code !== '204') assert.ok(operation.responses[code].content, `${where}: ${code} has a body schema`);
          }
          if (path === '/metrics') continue;
          for (const code of ['400', '401', '403']) assert.ok(operation.responses[code], `${where}: ${code}`);
          if (operation.requestBody)
            for (const code of ['413', '415']) assert.ok(operation.responses[code], `${where}: ${code}`);
          if (path.includes('{')) assert.ok(operation.responses['404'], `${where}: 404`);
        }
      }
      const listUsers = doc.paths['/admin/users'].get;
      const params = Object.fromEntries(listUsers.parameters.map((p: any) => [p.name, p]));
      assert.deepEqual(Object.keys(params).sort(), ['after', 'limit', 'q']);
      assert.equal(params.limit.in, 'query');
      assert.equal(params.limit.required, false);
      assert.match(params.limit.description, /1–200/);
      assert.deepEqual(doc.paths['/admin/audit-events'].get.parameters.map((p: any) => p.name).sort(), [
        'after',
        'client',
        'limit',
        'since',
        'type',
        'until',
        'user',
      ]);
      const user = listUsers.responses['200'].content['application/json'].schema.properties.items.items;
      assert.deepEqual(user.required.sort(), [
        'created_at',
        'disabled',
        'email',
        'email_verified',
        'id',
        'name',
        'updated_at',
      ]);
      assert.match(user.properties.email_verified.description, /belong/);
      const created = doc.paths['/admin/clients'].post.responses['201'].content['application/json'].schema;
      assert.match(created.properties.client_secret.description, /once|created or rotated/);
      assert.ok(doc.paths['/admin/users/{id}'].patch.responses['409']);
      const factors = doc.paths['/admin/users/{id}/factors'];
      assert.deepEqual(factors.get.responses['200'].content['application/json'].schema.items.properties.type.enum, [
        'totp',
        'passkey',
        'recovery_codes',
      ]);
      assert.ok(factors.delete.responses['200'] && doc.paths['/admin/users/{id}/factors/{factorId}'].delete);
    });

    it('describes what the routes really answer (real answers parse with the documented schemas)', async () => {
      const user = await gh.admin('POST', '/admin/users', { email: `doc-${Date.now()}@example.test`, name: 'Doc' });
      assert.equal(user.status, 201);
      userResponse.parse(user.body);
      pageOf(userResponse).parse((await gh.admin('GET', '/admin/users?limit=2')).body);
      const c = await gh.admin('POST', '/admin/clients', {
        client_name: 'Doc',
        redirect_uris: ['http://127.0.0.1:9/cb'],
      });
      clientResponse.parse(c.body);
      pageOf(clientResponse).parse((await gh.admin('GET', '/admin/clients')).body);
      const api = await gh.admin('POST', '/admin/resources', {
        indicator: `https://doc-${Date.now()}.example`,
        scopes: [{ name: 'read' }],
      });
      resourceResponse.parse(api.body);
      const role = await gh.admin('POST', '/admin/roles', {
        name: `doc-${Date.now()}`,
        permissions: [{ resource: api.body.indicator, scope: 'read' }],
      });
      roleResponse.parse(role.body);
      effectivePermissionsResponse.parse((await gh.admin('GET', `/admin/users/${user.body.id}/permissions`)).body);
      listOf(signingKeyResponse).parse((await gh.admin('GET', '/admin/keys')).body);
      listOf(sessionResponse).parse((await gh.admin('GET', `/admin/users/${user.body.id}/sessions`)).body);
      z.array(factorResponse).parse((await gh.admin('GET', `/admin/users/${user.body.id}/factors`)).body);
      factorsResetResponse.parse((await gh.admin('DELETE', `/admin/users/${user.body.id}/factors`)).body);
      pageOf(auditEventResponse).parse((await gh.admin('GET', '/admin/audit-events?limit=5')).body);
      for (const body of [
        { type: 'oidc', preset: 'google', name: 'Doc Google', client_id: 'x', client_secret: 's', claims: {} },
        { type: 'oauth2', preset: 'github', name: 'Doc GitHub', client_id: 'x', client_secret: 's' },
        { type: 'saml', name: 'Doc SAML', idp_metadata_url: 'https://idp.example/metadata' },
      ]) {
        const connection = await gh.admin('POST', '/admin/connections', body);
        assert.equal(connection.status, 201, JSON.stringify(connection.body));
        connectionResponse.parse(connection.body);
        connectionResponse.parse((await gh.admin('PATCH', `/admin/connections/${connection.body.id}`, {})).body);
      }
      listOf(connectionResponse).parse((await gh.admin('GET', '/admin/connections')).body);
    });

    it('answers the documented 413 and 415', async () => {
      const notJson = await gh.admin('POST', '/admin/users', 'email=x', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.equal(notJson.status, 415);
      const huge = await gh.admin(
        'POST',
        '/admin/users',
        JSON.stringify({ email: 'a@b.c', name: 'x'.repeat(2_000_000) }),
      );
      assert.equal(huge.status, 413);
    });
  });
}
