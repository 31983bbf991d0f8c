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
      const res = await gh.admin('POST', '/admin/clients', { client_name: 'Worker', grant_types: ['client_credentials'], scope, ...extra });
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
        indicator: api, scopes: [{ name: 'read' }, { name: 'write' }], access_token_format: 'jwt',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });
    after(async () => { await gh?.destroy(); });

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
        issuer: gh.issuer, audience: api, typ: 'at+jwt',
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
      const ok = await tokenRequest({ grant_type: 'client_credentials', scope: 'read', resource: api }, { id: app.client_id, secret: app.client_secret });
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('cache-control') ?? '', /no-store/);
      assert.match(ok.headers.get('content-type') ?? '', /application\/json/);
      const bad = await tokenRequest({ grant_type: 'client_credentials' }, { id: app.client_id, secret: 'wrong' });
      assert.equal(bad.status, 401);
      assert.match(bad.headers.get('cache-control') ?? '', /no-store/);
    });

    it('refuses a wrong client secret with 401 invalid_client', async () => {
      const app = await machineClient('read');
      const res = await tokenRequest({ grant_type: 'client_credentials', scope: 'read', resource: api }, { id: app.client_id, secret: `${app.client_secret}x` });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'invalid_client');
      const config = await discover(gh, { client_id: app.client_id, client_secret: 'not-the-secret' });
      // openid-client surfaces a 401 with a WWW-Authenticate challenge as the challenge it carries.
      await assert.rejects(client.clientCredentialsGrant(config, { resource: api }), (e: OAuthError & { cause?: Array<{ parameters: { error?: string } }> }) =>
        e.status === 401 && e.cause?.[0]?.parameters.error === 'invalid_client');
    });

    it('refuses a client not allowed the client_credentials grant with unauthorized_client', async () => {
      const app = await createClient(gh);
      const config = await discover(gh, app);
      await assert.rejects(client.clientCredentialsGrant(config, { resource: api }), (e: OAuthError) => e.error === 'unauthorized_client');
    });

    it('does not grant a scope the client is not allowed', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'read write', resource: api });
      assert.equal(tokens.scope, 'read', 'write is not granted');
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: api });
      assert.equal(payload.scope, 'read');

      // Only a scope it may not have: a token is issued (RFC 6749 §3.3 lets the server narrow), without that scope.
      const onlyWrite = await client.clientCredentialsGrant(config, { scope: 'write', resource: api });
      assert.equal(onlyWrite.scope, undefined);
      const narrowed = await jwtVerify(onlyWrite.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: api });
      assert.equal(narrowed.payload.scope, undefined);

      // Without a resource, an API scope is not granted either.
      const opaque = await client.clientCredentialsGrant(config, { scope: 'write' });
      assert.equal(opaque.scope, undefined);
      const info = await client.tokenIntrospection(config, opaque.access_token);
      assert.equal(info.active, true);
      assert.equal(info.scope, undefined);
    });

    it('refuses OpenID scopes to a client registered with API scopes only', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      await assert.rejects(client.clientCredentialsGrant(config, { scope: 'openid offline_access' }), (e: OAuthError) => e.error === 'invalid_scope');
      await assert.rejects(client.clientCredentialsGrant(config, { scope: 'read email', resource: api }), (e: OAuthError) => e.error === 'invalid_scope');
    });

    it('refuses an unregistered resource with invalid_target', async () => {
      const app = await machineClient('read');
      const config = await discover(gh, app);
      await assert.rejects(client.clientCredentialsGrant(config, { scope: 'read', resource: 'https://unknown.example.test' }), (e: OAuthError) => e.error === 'invalid_target');
    });
  });
}
