import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, discover } from '../support/relying-party.js';

type OAuthError = Error & { error?: string; status?: number };

for (const backend of backends()) {
  describe(`client credentials grant (${backend})`, () => {
    let gh: RunningGatehouse;
    const api = `https://api-${Math.random().toString(36).slice(2)}.example.test`;

    /** A machine client: client_credentials only, allowed the given scopes. */
    async function machineClient(scope = 'read', extra: Record<string, unknown> = {}) {
      const res = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
        scope,
        ...extra,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { client_id: string; client_secret: string };
    }

    async function tokenRequest(body: Record<string, string>, auth: { id: string; secret: string }) {
      return fetch(`${gh.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(auth.id)}:${encodeURIComponent(auth.secret)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams(body).toString(),
      });
    }

    before(async () => {
      gh = await startGatehouse(backend);
      const res = await gh.admin('POST', '/admin/resources', {
        indicator: api,
        scopes: [{ name: 'read' }, { name: 'write' }],
        access_token_format: 'jwt',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });
    after(async () => {
      await gh?.destroy();
    });

    it('issues a signed JWT access token (RFC 9068) for a registered resource', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'read', resource: api });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.scope, 'read');
      assert.ok(tokens.expires_in && tokens.expires_in > 0);
      assert.equal(tokens.refresh_token, undefined, 'no refresh token for client_credentials');
      const header = decodeProtectedHeader(tokens.access_token);
      assert.equal(header.typ, 'at+jwt');
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), {
        issuer: gh.issuer,
        audience: api,
        typ: 'at+jwt',
      });
      assert.equal(payload.aud, api);
      assert.equal(payload.scope, 'read');
      assert.equal(payload.client_id, app.client_id);
      assert.equal(payload.sub, app.client_id);
      assert.ok(typeof payload.jti === 'string' && payload.jti.length > 0);
      assert.ok(payload.exp! > Math.floor(Date.now() / 1000));
    });

    it('issues an opaque access token when no resource is requested', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      const tokens = await client.clientCredentialsGrant(config);
      assert.equal(tokens.access_token.split('.').length, 1, 'not a JWT');
      assert.ok(tokens.access_token.length >= 43, 'enough entropy');
      const info = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.client_id, app.client_id);
    });

    it('sends Cache-Control: no-store on token responses, success and error', async () => {
      const app = await machineClient('read');
      const ok = await tokenRequest(
        { grant_type: 'client_credentials', scope: 'read', resource: api },
        { id: app.client_id, secret: app.client_secret },
      );
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('cache-control') ?? '', /no-store/);
      assert.match(ok.headers.get('content-type') ?? '', /application\/json/);
      const bad = await tokenRequest({ grant_type: 'client_credentials' }, { id: app.client_id, secret: 'wrong' });
      assert.equal(bad.status, 401);
      assert.match(bad.headers.get('cache-control') ?? '', /no-store/);
    });

    it('refuses a wrong client secret with 401 invalid_client', async () => {
      const app = await machineClient('read');
      const res = await tokenRequest(
        { grant_type: 'client_credentials', scope: 'read', resource: api },
        { id: app.client_id, secret: `${app.client_secret}x` },
      );
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'invalid_client');
      const config = await discover(gh, { client_id: app.client_id, client_secret: 'not-the-secret' });
      // openid-client surfaces a 401 with a WWW-Authenticate challenge as the challenge it carries.
      await assert.rejects(
        client.clientCredentialsGrant(config, { resource: api }),
        (e: OAuthError & { cause?: Array<{ parameters: { error?: string } }> }) =>
          e.status === 401 && e.cause?.[0]?.parameters.error === 'invalid_client',
      );
    });

    it('refuses a client not allowed the client_credentials grant with unauthorized_client', async () => {
      const app = await createClient(gh);
      const config = await discover(gh, app);
      await assert.rejects(
        client.clientCredentialsGrant(config, { resource: api }),
        (e: OAuthError) => e.error === 'unauthorized_client',
      );
    });

    it('refuses a scope the client is not registered for with invalid_scope (no silent narrowing)', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      for (const scope of ['read write', 'write']) {
        await assert.rejects(
          client.clientCredentialsGrant(config, { scope, resource: api }),
          (e: OAuthError) => e.error === 'invalid_scope' && e.status === 400,
          scope,
        );
      }
      // Without a resource too: not registered is refused.
      await assert.rejects(
        client.clientCredentialsGrant(config, { scope: 'write' }),
        (e: OAuthError) => e.error === 'invalid_scope',
      );
      // Without a resource the token is for OpenID Connect only (opaque): a registered API scope is
      // not in it, and the response's scope says so.
      const opaque = await client.clientCredentialsGrant(config, { scope: 'read' });
      assert.equal(opaque.scope, '');
      assert.equal((await client.tokenIntrospection(config, opaque.access_token)).scope, undefined);
      // What it is registered for still works, and the response says what was granted.
      const tokens = await client.clientCredentialsGrant(config, { scope: 'read', resource: api });
      assert.equal(tokens.scope, 'read');
    });

    it('refuses a scope no API declares with invalid_scope, whether or not the client has a registered scope', async () => {
      const unrestricted = await gh.admin('POST', '/admin/clients', {
        client_name: 'Any scope',
        grant_types: ['client_credentials'],
      });
      assert.equal(unrestricted.status, 201, JSON.stringify(unrestricted.body));
      for (const app of [await machineClient('read'), unrestricted.body]) {
        const res = await tokenRequest(
          { grant_type: 'client_credentials', scope: 'read delete_everything', resource: api },
          { id: app.client_id, secret: app.client_secret },
        );
        assert.equal(res.status, 400);
        const body = await res.json();
        assert.equal(body.error, 'invalid_scope');
        assert.match(body.error_description, /delete_everything/);
        const noResource = await tokenRequest(
          { grant_type: 'client_credentials', scope: 'delete_everything' },
          { id: app.client_id, secret: app.client_secret },
        );
        assert.equal((await noResource.json()).error, 'invalid_scope');
      }
    });

    it('always says the granted scope in the token response (RFC 6749 §5.1)', async () => {
      const app = await machineClient('read');
      const res = await tokenRequest(
        { grant_type: 'client_credentials' },
        { id: app.client_id, secret: app.client_secret },
      );
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.scope, '', 'no scope requested: an empty scope, not a missing member');
      const withApi = await (
        await tokenRequest(
          { grant_type: 'client_credentials', scope: 'read', resource: api },
          { id: app.client_id, secret: app.client_secret },
        )
      ).json();
      assert.equal(withApi.scope, 'read');
    });

    it('refuses registering a client for a scope no API declares (invalid_client_metadata)', async () => {
      const res = await gh.admin('POST', '/admin/clients', {
        client_name: 'Typo',
        grant_types: ['client_credentials'],
        scope: 'read reed',
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_client_metadata');
      assert.match(res.body.error_description, /reed/);
      const ok = await machineClient('read write openid admin:read');
      const patch = await gh.admin('PATCH', `/admin/clients/${ok.client_id}`, { scope: 'read nothing-declares-this' });
      assert.equal(patch.status, 400);
      assert.equal(patch.body.error, 'invalid_client_metadata');
    });

    it('refuses OpenID scopes to a client registered with API scopes only', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      await assert.rejects(
        client.clientCredentialsGrant(config, { scope: 'openid offline_access' }),
        (e: OAuthError) => e.error === 'invalid_scope',
      );
      await assert.rejects(
        client.clientCredentialsGrant(config, { scope: 'read email', resource: api }),
        (e: OAuthError) => e.error === 'invalid_scope',
      );
    });

    it('refuses an unregistered resource with invalid_target', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      await assert.rejects(
        client.clientCredentialsGrant(config, { scope: 'read', resource: 'https://unknown.example.test' }),
        (e: OAuthError) => e.error === 'invalid_target',
      );
    });
  });
}
