import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

for (const backend of backends()) {
  describe(`client settings and secret rotation (${backend})`, () => {
    let gh: RunningGatehouse;
    const api = `https://api-${Math.random().toString(36).slice(2)}.example.test`;

    /** A machine client (client_credentials only, client_secret_basic). */
    async function machineClient(extra: Record<string, unknown> = {}) {
      const res = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
        scope: 'read',
        ...extra,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { client_id: string; client_secret: string; [k: string]: unknown };
    }

    async function tokenRequest(
      id: string,
      secret: string,
      body: Record<string, string> = {},
      headers: Record<string, string> = {},
    ) {
      const res = await fetch(`${gh.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...body }).toString(),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    }

    async function rotate(id: string, body?: unknown) {
      return gh.admin('POST', `/admin/clients/${encodeURIComponent(id)}/secret`, body);
    }

    /** No secret, hash or previous-secret list in what the admin API shows of a client. */
    async function assertNoSecretsShown(id: string, secrets: string[]) {
      const one = await fetch(`${gh.adminUrl}/admin/clients/${id}`, {
        headers: { authorization: `Bearer ${gh.adminKey}` },
      });
      const list = await fetch(`${gh.adminUrl}/admin/clients?limit=200`, {
        headers: { authorization: `Bearer ${gh.adminKey}` },
      });
      for (const text of [await one.text(), await list.text()]) {
        assert.ok(!text.includes('sha256:'), 'a secret hash is shown');
        assert.ok(!text.includes('client_secret"'), 'a client_secret field is shown');
        assert.ok(!text.includes('client_secrets_previous'), 'the previous secrets are shown');
        for (const s of secrets) assert.ok(!text.includes(s), 'a secret is shown');
      }
    }

    before(async () => {
      gh = await startGatehouse(backend);
      const res = await gh.admin('POST', '/admin/resources', {
        indicator: api,
        scopes: [{ name: 'read' }],
        access_token_format: 'jwt',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });
    after(async () => {
      await gh?.destroy();
    });

    describe('POST /admin/clients/:id/secret', () => {
      it('issues a new secret; both work during the overlap, the old one is refused after it', async () => {
        const c = await machineClient();
        const rotated = await rotate(c.client_id, { overlap_seconds: 2 });
        assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
        assert.equal(rotated.headers.get('cache-control'), 'no-store');
        const fresh = rotated.body.client_secret as string;
        assert.equal(typeof fresh, 'string');
        assert.ok(fresh.length >= 32);
        assert.notEqual(fresh, c.client_secret);
        assert.equal(rotated.body.client_secret_expires_at, 0);
        assert.equal(rotated.body.client_id, c.client_id);
        const expiresAt = rotated.body.previous_secret_expires_at as number;
        assert.ok(
          Math.abs(expiresAt - (Math.floor(Date.now() / 1000) + 2)) <= 1,
          `previous_secret_expires_at ${expiresAt}`,
        );

        assert.equal((await tokenRequest(c.client_id, c.client_secret)).status, 200, 'old secret during the overlap');
        assert.equal((await tokenRequest(c.client_id, fresh)).status, 200, 'new secret');
        assert.equal((await tokenRequest(c.client_id, `${fresh}x`)).status, 401, 'a wrong secret');
        await assertNoSecretsShown(c.client_id, [c.client_secret, fresh]);

        await sleep(Math.max(0, expiresAt * 1000 - Date.now()) + 300);
        const late = await tokenRequest(c.client_id, c.client_secret);
        assert.equal(late.status, 401, JSON.stringify(late.body));
        assert.equal(late.body.error, 'invalid_client');
        assert.equal((await tokenRequest(c.client_id, fresh)).status, 200, 'new secret after the overlap');
      });

      it('defaults to a day of overlap, survives a PATCH, and overlap 0 ends every old secret at once', async () => {
        const c = await machineClient();
        const first = await rotate(c.client_id);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const expected = Math.floor(Date.now() / 1000) + 86_400;
        assert.ok(Math.abs(first.body.previous_secret_expires_at - expected) <= 2);
        const second = first.body.client_secret as string;

        const patched = await gh.admin('PATCH', `/admin/clients/${c.client_id}`, { client_name: 'Renamed' });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        assert.equal(patched.body.client_secret, undefined);
        assert.equal((await tokenRequest(c.client_id, c.client_secret)).status, 200, 'old secret after PATCH');
        assert.equal((await tokenRequest(c.client_id, second)).status, 200);

        const third = await rotate(c.client_id, { overlap_seconds: 0 });
        assert.equal(third.status, 200, JSON.stringify(third.body));
        assert.equal(third.body.previous_secret_expires_at, null);
        assert.equal((await tokenRequest(c.client_id, c.client_secret)).status, 401, 'the first secret is ended too');
        assert.equal((await tokenRequest(c.client_id, second)).status, 401, 'the outgoing secret is ended');
        assert.equal((await tokenRequest(c.client_id, third.body.client_secret)).status, 200);
        await assertNoSecretsShown(c.client_id, [c.client_secret, second, third.body.client_secret]);
      });

      it('never loses a secret it showed when rotations race (each 200 secret works; losers get 409)', async () => {
        const c = await machineClient();
        const results = await Promise.all(
          Array.from({ length: 5 }, () => rotate(c.client_id, { overlap_seconds: 300 })),
        );
        const shown = results.filter((r) => r.status === 200).map((r) => r.body.client_secret as string);
        for (const r of results)
          assert.ok(r.status === 200 || r.status === 409, `${r.status} ${JSON.stringify(r.body)}`);
        assert.ok(shown.length >= 1);
        for (const s of [c.client_secret, ...shown])
          assert.equal((await tokenRequest(c.client_id, s)).status, 200, 'a secret shown to an admin does not work');
      });

      it('records client.secret_rotated without secret values', async () => {
        const c = await machineClient();
        const rotated = await rotate(c.client_id, { overlap_seconds: 60 });
        assert.equal(rotated.status, 200);
        const events = await gh.admin(
          'GET',
          `/admin/audit-events?${new URLSearchParams({ type: 'client.secret_rotated', client: c.client_id })}`,
        );
        assert.equal(events.status, 200, JSON.stringify(events.body));
        assert.equal(events.body.items.length, 1);
        assert.equal(events.body.items[0].data.overlap_seconds, 60);
        const text = JSON.stringify(events.body);
        for (const s of [c.client_secret, rotated.body.client_secret, 'sha256:'])
          assert.ok(!text.includes(s), 'audit event holds a secret or hash');
      });

      it('refuses clients without a secret, bad overlaps and unknown clients', async () => {
        const pub = await createClient(gh, { token_endpoint_auth_method: 'none' });
        const res = await rotate(pub.client_id, {});
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error, 'invalid_request');

        const { publicKey } = await generateKeyPair('ES256');
        const jwtClient = await createClient(gh, {
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ ...(await exportJWK(publicKey)), use: 'sig', alg: 'ES256' }] },
        });
        assert.equal(jwtClient.client_secret, undefined);
        assert.equal((await rotate(jwtClient.client_id)).status, 400);

        const c = await machineClient();
        for (const body of [
          { overlap_seconds: -1 },
          { overlap_seconds: 604_801 },
          { overlap_seconds: 1.5 },
          { overlap_seconds: '60' },
          { overlap: 60 },
          [1],
        ]) {
          const bad = await rotate(c.client_id, body);
          assert.equal(bad.status, 400, `${JSON.stringify(body)} → ${bad.status}`);
        }
        assert.equal((await rotate(c.client_id, { overlap_seconds: 604_800 })).status, 200);
        assert.equal((await rotate('no-such-client', {})).status, 404);
      });
    });

    describe('per-client token lifetimes', () => {
      it('access_token_ttl_seconds sets expires_in and the JWT exp', async () => {
        const c = await machineClient({ access_token_ttl_seconds: 120 });
        const opaque = await tokenRequest(c.client_id, c.client_secret, { scope: 'read' });
        assert.equal(opaque.status, 200, JSON.stringify(opaque.body));
        assert.equal(opaque.body.expires_in, 120);

        const jwt = await tokenRequest(c.client_id, c.client_secret, { scope: 'read', resource: api });
        assert.equal(jwt.status, 200, JSON.stringify(jwt.body));
        assert.equal(jwt.body.expires_in, 120);
        const { payload } = await jwtVerify(jwt.body.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), {
          issuer: gh.issuer,
          audience: api,
        });
        assert.equal(payload.exp! - payload.iat!, 120);

        const other = await machineClient();
        const dflt = await tokenRequest(other.client_id, other.client_secret, { scope: 'read' });
        assert.equal(dflt.body.expires_in, 600, 'a client without the setting gets the deployment default');
      });

      it('refresh_token_ttl_seconds caps the refresh token exp (introspection)', async () => {
        const c = await createClient(gh, { refresh_token_ttl_seconds: 600, access_token_ttl_seconds: 45 });
        assert.equal(c.refresh_token_ttl_seconds, 600);
        const config = await discover(gh, c);
        const { tokens } = await loginAndGetTokens(gh, config, { user: await createUser(gh) });
        assert.equal(tokens.expires_in, 45);
        assert.ok(tokens.refresh_token);
        const res = await fetch(`${gh.issuer}/token/introspection`, {
          method: 'POST',
          headers: {
            authorization: basic(c.client_id, c.client_secret!),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: 'refresh_token' }).toString(),
        });
        const body = (await res.json()) as any;
        assert.equal(res.status, 200);
        assert.equal(body.active, true, JSON.stringify(body));
        assert.ok(Math.abs(body.exp - body.iat - 600) <= 1, `refresh token lives ${body.exp - body.iat}s`);
      });

      it('validates the settings at the edge', async () => {
        for (const bad of [
          { access_token_ttl_seconds: 29 },
          { access_token_ttl_seconds: 86_401 },
          { access_token_ttl_seconds: '60' },
          { refresh_token_ttl_seconds: 59 },
          { refresh_token_ttl_seconds: 1.5 },
          { allowed_cors_origins: ['http://app.example.test'] },
          { allowed_cors_origins: ['https://app.example.test/'] },
          { allowed_cors_origins: ['https://app.example.test/path'] },
          { allowed_cors_origins: 'https://app.example.test' },
          { client_secrets_previous: [] },
        ]) {
          const res = await gh.admin('POST', '/admin/clients', { grant_types: ['client_credentials'], ...bad });
          assert.equal(res.status, 400, `${JSON.stringify(bad)} → ${res.status} ${JSON.stringify(res.body)}`);
        }
        const ok = await machineClient({
          allowed_cors_origins: ['https://app.example.test', 'http://localhost:5173'],
          access_token_ttl_seconds: 30,
        });
        const fetched = await gh.admin('GET', `/admin/clients/${ok.client_id}`);
        assert.deepEqual(fetched.body.allowed_cors_origins, ['https://app.example.test', 'http://localhost:5173']);
        assert.equal(fetched.body.access_token_ttl_seconds, 30);
      });
    });

    describe('allowed_cors_origins', () => {
      it('answers a listed origin with Access-Control-Allow-Origin and refuses any other', async () => {
        const c = await machineClient({ allowed_cors_origins: ['https://app.example.test'] });
        const allowed = await tokenRequest(c.client_id, c.client_secret, {}, { origin: 'https://app.example.test' });
        assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
        assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.test');

        const other = await tokenRequest(c.client_id, c.client_secret, {}, { origin: 'https://evil.example.test' });
        assert.equal(other.headers.get('access-control-allow-origin'), null);
        assert.equal(other.status, 400);

        const unlisted = await machineClient();
        const none = await tokenRequest(
          unlisted.client_id,
          unlisted.client_secret,
          {},
          { origin: 'https://app.example.test' },
        );
        assert.equal(none.headers.get('access-control-allow-origin'), null, 'no origin is allowed unless listed');

        // Without an Origin (a server-side client) nothing changes.
        assert.equal((await tokenRequest(unlisted.client_id, unlisted.client_secret)).status, 200);
      });

      it('keeps discovery and JWKS open to every origin', async () => {
        for (const path of ['/.well-known/openid-configuration', '/jwks']) {
          const res = await fetch(`${gh.issuer}${path}`, { headers: { origin: 'https://anyone.example.test' } });
          assert.equal(res.status, 200);
          assert.equal(res.headers.get('access-control-allow-origin'), 'https://anyone.example.test', path);
        }
      });

      it('applies to public (SPA) clients too: the redirect URI origin is not allowed unless listed', async () => {
        const c = await createClient(gh, {
          token_endpoint_auth_method: 'none',
          allowed_cors_origins: ['http://localhost:5173'],
        });
        const redeem = (origin: string) =>
          fetch(`${gh.issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              client_id: c.client_id,
              code: 'not-a-code',
              redirect_uri: CALLBACK,
              code_verifier: 'x'.repeat(43),
            }).toString(),
          });
        const refused = await redeem(new URL(CALLBACK).origin);
        assert.equal(refused.headers.get('access-control-allow-origin'), null);
        const listed = await redeem('http://localhost:5173');
        assert.equal(listed.headers.get('access-control-allow-origin'), 'http://localhost:5173');
        assert.equal(
          ((await listed.json()) as any).error,
          'invalid_grant',
          'the listed origin reaches the grant check',
        );
      });
    });
  });
}
