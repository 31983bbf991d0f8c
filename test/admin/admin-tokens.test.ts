import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { codeFlow, createClient, createUser, discover } from '../support/relying-party.js';

const ADMIN_RESOURCE = 'urn:gatehouse:admin';

interface Machine {
  client_id: string;
  client_secret: string;
}

async function machineClient(gh: RunningGatehouse, scope: string): Promise<Machine> {
  const res = await gh.admin('POST', '/admin/clients', {
    client_name: 'Admin robot',
    grant_types: ['client_credentials'],
    scope,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

const basic = (c: Machine) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64')}`;

async function tokenResponse(gh: RunningGatehouse, c: Machine, params: Record<string, string>) {
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function adminToken(gh: RunningGatehouse, c: Machine, scope: string): Promise<string> {
  const res = await tokenResponse(gh, c, { scope, resource: ADMIN_RESOURCE });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.access_token as string;
}

/** An admin request authenticated by an access token instead of the bootstrap key. */
async function withToken(gh: RunningGatehouse, token: string | null, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${gh.adminUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

function assertUnauthorized(res: Awaited<ReturnType<typeof withToken>>) {
  assert.equal(res.status, 401, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(typeof res.json?.error, 'string');
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
  assert.equal(res.json.items, undefined);
}

const NEW_USER = () => ({ email: `robot-${Math.random().toString(36).slice(2)}@example.test` });

for (const backend of backends()) {
  describe(`admin API with Gatehouse access tokens (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('issues an ES256 at+jwt for urn:gatehouse:admin with the registered admin scope and a short lifetime', async () => {
      const reader = await machineClient(gh, 'admin:read');
      const res = await tokenResponse(gh, reader, { scope: 'admin:read', resource: ADMIN_RESOURCE });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.scope, 'admin:read');
      assert.ok(res.body.expires_in > 0 && res.body.expires_in <= 300, `expires_in ${res.body.expires_in}`);
      const header = decodeProtectedHeader(res.body.access_token);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'ES256');
      const claims = decodeJwt(res.body.access_token);
      assert.equal(claims.aud, ADMIN_RESOURCE);
      assert.equal(claims.iss, gh.issuer);
      assert.equal(claims.client_id, reader.client_id);
    });

    it('does not give admin scopes a client was not registered with', async () => {
      const reader = await machineClient(gh, 'admin:read');
      // A scope the client is not registered for is refused, not silently left out (issue 12 §2).
      const res = await tokenResponse(gh, reader, { scope: 'admin:write', resource: ADMIN_RESOURCE });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_scope');
      // The scope it is registered for opens reads only.
      const read = await tokenResponse(gh, reader, { scope: 'admin:read', resource: ADMIN_RESOURCE });
      assert.equal(read.status, 200, JSON.stringify(read.body));
      const denied = await withToken(gh, read.body.access_token, 'POST', '/admin/users', NEW_USER());
      assert.equal(denied.status, 403, denied.text);
      assert.equal(denied.json.error, 'insufficient_scope');
      const plain = await machineClient(gh, 'openid');
      const none = await tokenResponse(gh, plain, { resource: ADMIN_RESOURCE });
      assert.equal(none.status, 400, JSON.stringify(none.body));
      assert.equal(none.body.error, 'invalid_target');
    });

    it('a browser sign-in cannot obtain an admin token: the authorization request is refused with invalid_target', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { scope: 'openid admin:write' });
      const config = await discover(gh, app);
      const flow = await codeFlow(gh, config, {
        user,
        scope: 'openid admin:write',
        extra: { resource: ADMIN_RESOURCE },
      });
      assert.equal(flow.callbackUrl.searchParams.get('error'), 'invalid_target');
      assert.equal(flow.callbackUrl.searchParams.get('code'), null);
    });

    it('a read-only token can GET but not POST (403 insufficient_scope)', async () => {
      const token = await adminToken(gh, await machineClient(gh, 'admin:read'), 'admin:read');
      const list = await withToken(gh, token, 'GET', '/admin/clients');
      assert.equal(list.status, 200, list.text);
      assert.ok(Array.isArray(list.json.items));
      assert.equal((await withToken(gh, token, 'HEAD', '/admin/clients')).status, 200);
      const create = await withToken(gh, token, 'POST', '/admin/users', NEW_USER());
      assert.equal(create.status, 403, create.text);
      assert.equal(create.json.error, 'insufficient_scope');
      assert.match(create.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      const remove = await withToken(gh, token, 'DELETE', '/admin/users/does-not-exist');
      assert.equal(remove.status, 403, remove.text);
    });

    it('a write token can POST (and read)', async () => {
      const token = await adminToken(gh, await machineClient(gh, 'admin:write'), 'admin:write');
      const create = await withToken(gh, token, 'POST', '/admin/users', NEW_USER());
      assert.equal(create.status, 201, create.text);
      assert.equal((await withToken(gh, token, 'GET', `/admin/users/${create.json.id}`)).status, 200);
    });

    it('a token for another API is refused with 401', async () => {
      const api = `https://api-${Math.random().toString(36).slice(2)}.example.test`;
      assert.equal(
        (
          await gh.admin('POST', '/admin/resources', {
            indicator: api,
            scopes: [{ name: 'read' }, { name: 'admin:read' }],
          })
        ).status,
        201,
      );
      const c = await machineClient(gh, 'read admin:read');
      const res = await tokenResponse(gh, c, { scope: 'read admin:read', resource: api });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertUnauthorized(await withToken(gh, res.body.access_token, 'GET', '/admin/clients'));
      // An opaque token (no resource) is no admin credential either.
      const opaque = await tokenResponse(gh, c, { scope: 'read' });
      assert.equal(opaque.status, 200, JSON.stringify(opaque.body));
      assertUnauthorized(await withToken(gh, opaque.body.access_token, 'GET', '/admin/clients'));
    });

    it('a revoked token is refused with 401', async () => {
      const c = await machineClient(gh, 'admin:read');
      const token = await adminToken(gh, c, 'admin:read');
      assert.equal((await withToken(gh, token, 'GET', '/admin/clients')).status, 200);
      const revoke = await fetch(`${gh.issuer}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      assert.equal(revoke.status, 200);
      const res = await withToken(gh, token, 'GET', '/admin/clients');
      assertUnauthorized(res);
      assert.equal(res.json.error, 'invalid_token');
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    });

    it('a token whose client was deleted is refused with 401', async () => {
      const c = await machineClient(gh, 'admin:read');
      const token = await adminToken(gh, c, 'admin:read');
      assert.equal((await gh.admin('DELETE', `/admin/clients/${c.client_id}`)).status, 204);
      assertUnauthorized(await withToken(gh, token, 'GET', '/admin/clients'));
    });

    it('a tampered or malformed token is refused with 401', async () => {
      const token = await adminToken(gh, await machineClient(gh, 'admin:read'), 'admin:read');
      const [h, p, s] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'admin:write' })).toString('base64url');
      const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
      for (const bad of [
        `${h}.${widened}.${s}`,
        `${h}.${p}.${flipped}`,
        `${h}.${p}.`,
        `${h}.${p}`,
        'a.b.c',
        `${token}x`,
      ]) {
        assertUnauthorized(await withToken(gh, bad, 'GET', '/admin/clients'));
      }
      const alg = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
      assertUnauthorized(await withToken(gh, `${alg}.${p}.`, 'GET', '/admin/clients'));
    });

    it('no credential is refused with 401', async () => {
      assertUnauthorized(await withToken(gh, null, 'GET', '/admin/clients'));
      assertUnauthorized(await withToken(gh, null, 'POST', '/admin/users', NEW_USER()));
    });
  });

  describe(`admin access token expiry (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, { env: { ADMIN_ACCESS_TOKEN_TTL_SECONDS: '1' } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('an expired token is refused with 401', async () => {
      const token = await adminToken(gh, await machineClient(gh, 'admin:read'), 'admin:read');
      assert.equal(decodeJwt(token).exp! - decodeJwt(token).iat!, 1);
      // Past `exp` by more than a second (exp has one-second resolution).
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      assertUnauthorized(await withToken(gh, token, 'GET', '/admin/clients'));
    });
  });
}
