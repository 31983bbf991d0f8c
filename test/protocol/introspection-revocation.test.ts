import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const now = () => Math.floor(Date.now() / 1000);

/** Replaces one character in the middle of a JWT's payload, keeping it valid base64url. */
function tamper(jwt: string): string {
  const [h, p, s] = jwt.split('.') as [string, string, string];
  const i = Math.floor(p.length / 2);
  const swapped = p[i] === 'A' ? 'B' : 'A';
  return `${h}.${p.slice(0, i)}${swapped}${p.slice(i + 1)}.${s}`;
}

for (const backend of backends()) {
  describe(`token introspection and revocation (${backend})`, () => {
    let gh: RunningGatehouse;
    const api = `https://api-${Math.random().toString(36).slice(2)}.example.test`;

    async function machineClient() {
      const res = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
        scope: 'read write',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return discover(gh, res.body);
    }

    async function userTokens() {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      return { user, app, config, tokens };
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

    it('introspects an opaque access token', async () => {
      const { user, app, config, tokens } = await userTokens();
      assert.equal(tokens.access_token.split('.').length, 1, 'opaque');
      const info = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.client_id, app.client_id);
      assert.equal(info.sub, user.id);
      assert.deepEqual(info.scope?.split(' ').sort(), ['email', 'offline_access', 'openid', 'profile']);
      assert.ok(info.exp! > now());
      assert.equal(info.token_type, 'Bearer');
    });

    it('introspects a refresh token', async () => {
      const { user, app, config, tokens } = await userTokens();
      const info = await client.tokenIntrospection(config, tokens.refresh_token!);
      assert.equal(info.active, true);
      assert.equal(info.client_id, app.client_id);
      assert.equal(info.sub, user.id);
      assert.ok(info.scope?.split(' ').includes('offline_access'));
      assert.ok(info.exp! > now());
    });

    it('introspects a JWT access token, with its audience', async () => {
      const config = await machineClient();
      const tokens = await client.clientCredentialsGrant(config, { scope: 'read', resource: api });
      assert.equal(tokens.access_token.split('.').length, 3, 'JWT');
      const info = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.client_id, config.clientMetadata().client_id);
      assert.equal(info.scope, 'read');
      assert.equal(info.aud, api);
      assert.equal(info.exp, decodeJwt(tokens.access_token).exp);
    });

    it('introspects a JWT access token issued to a user', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { scope: 'openid offline_access read' });
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, {
        user,
        scope: 'openid offline_access read',
        extra: { resource: api },
      });
      assert.equal(tokens.access_token.split('.').length, 3, 'JWT for the API');
      const info = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.sub, user.id);
      assert.equal(info.aud, api);
      assert.equal(info.scope, 'read');
      assert.equal(info.client_id, app.client_id);
    });

    it('reports an opaque access token inactive once revoked', async () => {
      const { config, tokens } = await userTokens();
      await client.tokenRevocation(config, tokens.access_token);
      assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
      await assert.rejects(client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck));
    });

    it('reports a refresh token inactive once revoked, and refuses it at the token endpoint', async () => {
      const { config, tokens } = await userTokens();
      await client.tokenRevocation(config, tokens.refresh_token!);
      assert.deepEqual(await client.tokenIntrospection(config, tokens.refresh_token!), { active: false });
      await assert.rejects(
        client.refreshTokenGrant(config, tokens.refresh_token!),
        (e: Error & { error?: string }) => e.error === 'invalid_grant',
      );
    });

    it('reports a JWT access token inactive once revoked', async () => {
      const config = await machineClient();
      const tokens = await client.clientCredentialsGrant(config, { scope: 'read', resource: api });
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);
      await client.tokenRevocation(config, tokens.access_token);
      assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
    });

    it("does not let a client introspect or revoke another client's token", async () => {
      const { config: owner, tokens } = await userTokens();
      const other = await discover(gh, await createClient(gh));
      assert.deepEqual(await client.tokenIntrospection(other, tokens.access_token), { active: false });
      assert.deepEqual(await client.tokenIntrospection(other, tokens.refresh_token!), { active: false });

      const machine = await machineClient();
      const jwt = (await client.clientCredentialsGrant(machine, { scope: 'read', resource: api })).access_token;
      assert.deepEqual(await client.tokenIntrospection(other, jwt), { active: false });

      // A revocation attempt by the other client leaves the tokens alone.
      await client.tokenRevocation(other, tokens.access_token);
      await client.tokenRevocation(other, tokens.refresh_token!);
      await client.tokenRevocation(other, jwt);
      assert.equal((await client.tokenIntrospection(owner, tokens.access_token)).active, true);
      assert.equal((await client.tokenIntrospection(owner, tokens.refresh_token!)).active, true);
      assert.equal((await client.tokenIntrospection(machine, jwt)).active, true);
    });

    it('reports a tampered or foreign JWT inactive', async () => {
      const config = await machineClient();
      const { access_token } = await client.clientCredentialsGrant(config, { scope: 'read', resource: api });
      assert.deepEqual(await client.tokenIntrospection(config, tamper(access_token)), { active: false });

      // Same claims (and jti) signed with a key that is not ours.
      const claims = decodeJwt(access_token);
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(privateKey);
      assert.deepEqual(await client.tokenIntrospection(config, forged), { active: false });
      // The genuine one is still active: the checks above failed on the signature.
      assert.equal((await client.tokenIntrospection(config, access_token)).active, true);
    });

    it('answers 200 to the revocation of an unknown token', async () => {
      const app = await createClient(gh);
      const config = await discover(gh, app);
      await client.tokenRevocation(config, 'this-token-was-never-issued');
      await client.tokenRevocation(config, 'eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.');
      const res = await fetch(`${gh.issuer}/token/revocation`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${app.client_id}:${encodeURIComponent(app.client_secret!)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: 'unknown-token-value' }).toString(),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await client.tokenIntrospection(config, 'this-token-was-never-issued'), { active: false });
    });

    it('requires client authentication to introspect', async () => {
      const { app, tokens } = await userTokens();
      const res = await fetch(`${gh.issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.access_token }).toString(),
      });
      assert.ok(res.status === 400 || res.status === 401, `status ${res.status}`);
      const body = await res.json();
      assert.equal(body.active, undefined);
      // oidc-provider answers a missing authentication with invalid_request (RFC 6749 §5.2 would say invalid_client).
      assert.ok(['invalid_client', 'invalid_request'].includes(body.error));

      const wrongSecret = await fetch(`${gh.issuer}/token/introspection`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${app.client_id}:not-the-secret`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: tokens.access_token }).toString(),
      });
      assert.equal(wrongSecret.status, 401);
      const denied = await wrongSecret.json();
      assert.equal(denied.error, 'invalid_client');
      assert.equal(denied.active, undefined);
    });
  });
}
