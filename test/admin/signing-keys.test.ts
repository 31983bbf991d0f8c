import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, discover } from '../support/relying-party.js';

/** Short lifetimes so a whole next → current → previous → retired cycle fits in a few seconds. */
const FAST_KEYS = {
  JWKS_MAX_AGE_SECONDS: '1',
  SIGNING_KEY_POLL_SECONDS: '1',
  SIGNING_KEY_RETIRE_GRACE_SECONDS: '0',
  ID_TOKEN_TTL_SECONDS: '2',
  ACCESS_TOKEN_TTL_SECONDS: '2',
  ADMIN_ACCESS_TOKEN_TTL_SECONDS: '2',
  AUDIT_FLUSH_INTERVAL_MS: '50',
};

interface KeyView {
  kid: string;
  alg: string;
  state: string;
  activated_at: string;
  deactivated_at: string | null;
  retired_at: string | null;
  revoked_at: string | null;
  public_jwk: Record<string, unknown> | null;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 12_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

for (const backend of backends()) {
  describe(`signing keys: staged rotation and revocation (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    const api = `https://keys-${Math.random().toString(36).slice(2)}.example.test`;

    const keys = async () => (await gh.admin('GET', '/admin/keys')).body.items as KeyView[];
    const jwks = async () => {
      const res = await fetch(`${gh.issuer}/jwks`);
      assert.equal(res.status, 200);
      return { body: (await res.json()) as JSONWebKeySet, cacheControl: res.headers.get('cache-control') };
    };
    /** A fresh ES256 JWT access token; returns its kid and the token. */
    const issue = async () => {
      const { access_token } = await client.clientCredentialsGrant(config, { scope: 'read', resource: api });
      return { token: access_token, kid: decodeProtectedHeader(access_token).kid! };
    };
    const es256 = async (state: string) => (await keys()).filter((k) => k.alg === 'ES256' && k.state === state);

    before(async () => {
      gh = await startGatehouse(backend, { env: FAST_KEYS });
      const res = await gh.admin('POST', '/admin/resources', {
        indicator: api,
        scopes: [{ name: 'read' }],
        access_token_format: 'jwt',
        signing_alg: 'ES256',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const app = await gh.admin('POST', '/admin/clients', {
        client_name: 'Keys worker',
        grant_types: ['client_credentials'],
        scope: 'read',
      });
      config = await discover(gh, app.body);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('lists one current key per algorithm with public parts only, and publishes them with a cache lifetime', async () => {
      const items = await keys();
      assert.deepEqual(items.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
      for (const k of items) {
        assert.equal(k.state, 'current');
        assert.equal(k.deactivated_at, null);
        assert.ok(k.public_jwk && !('d' in k.public_jwk), 'no private key material');
      }
      const published = await jwks();
      assert.equal(published.cacheControl, 'public, max-age=1');
      assert.deepEqual(published.body.keys.map((k) => k.kid).sort(), items.map((k) => k.kid).sort());
    });

    it('refuses bad rotation requests with 400 and a reason', async () => {
      for (const body of [
        { publish_seconds: 6 },
        { alg: 'HS256' },
        { publish_seconds: -1 },
        { extra: true },
        { emergency: true, publish_seconds: 5 },
      ]) {
        const res = await gh.admin('POST', '/admin/keys/rotate', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error, 'invalid_request');
        assert.ok(res.body.error_description, 'says why');
      }
      assert.equal((await gh.admin('POST', '/admin/keys/not-a-kid/revoke')).status, 404);
    });

    it('publishes a staged key before it signs, then keeps the old one until its tokens expired', async () => {
      const [old] = await es256('current');
      const before = await issue();
      assert.equal(before.kid, old!.kid);

      const staged = await gh.admin('POST', '/admin/keys/rotate', { alg: 'ES256', publish_seconds: 7 });
      assert.equal(staged.status, 201, JSON.stringify(staged.body));
      const [next] = staged.body.items as KeyView[];
      assert.equal(next!.state, 'next');
      assert.equal(next!.alg, 'ES256');
      // A second rotation of the same algorithm while one is staged is a conflict.
      assert.equal((await gh.admin('POST', '/admin/keys/rotate', { alg: 'ES256', publish_seconds: 7 })).status, 409);

      // Published at once, not yet signing; the old key knows when it hands over.
      assert.ok(
        (await jwks()).body.keys.some((k) => k.kid === next!.kid),
        'the next key is in JWKS',
      );
      assert.equal((await issue()).kid, old!.kid, 'the old key still signs');
      const handingOver = (await keys()).find((k) => k.kid === old!.kid)!;
      assert.equal(handingOver.deactivated_at, next!.activated_at);
      assert.ok(handingOver.retired_at! > handingOver.deactivated_at!);

      const signedByNew = await until('the new key to sign', async () => {
        const t = await issue();
        return t.kid === next!.kid ? t : undefined;
      });
      const published = (await jwks()).body;
      assert.ok(
        published.keys.some((k) => k.kid === old!.kid),
        'the previous key stays published',
      );
      assert.equal((await keys()).find((k) => k.kid === old!.kid)!.state, 'previous');
      // Both signatures verify against the published set (the old token's 2 s lifetime may be over: tolerance).
      const local = createLocalJWKSet(published);
      await jwtVerify(before.token, local, { audience: api, clockTolerance: 30 });
      await jwtVerify(signedByNew.token, local, { audience: api });

      await until('the previous key to retire', async () => {
        const k = (await keys()).find((x) => x.kid === old!.kid)!;
        return k.state === 'retired' ? k : undefined;
      });
      // The instance applies the transition on its own tick (scheduled for that moment; at worst the 1 s poll).
      const retiredAt = Date.now();
      await until('the retired key to leave JWKS', async () =>
        (await jwks()).body.keys.some((k) => k.kid === old!.kid) ? undefined : true,
      );
      assert.ok(Date.now() - retiredAt < 2000, 'left JWKS within the poll interval');
      assert.equal((await keys()).find((k) => k.kid === old!.kid)!.public_jwk, null);
    });

    it('revokes a compromised signing key at once: out of JWKS, its tokens inactive, a replacement signs', async () => {
      const [compromised] = await es256('current');
      const { token } = await issue();
      assert.equal((await client.tokenIntrospection(config, token)).active, true);

      const res = await gh.admin('POST', `/admin/keys/${compromised!.kid}/revoke`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.revoked.state, 'retired');
      assert.ok(res.body.revoked.revoked_at);
      const replacement = res.body.replacement as KeyView;
      assert.equal(replacement.state, 'current');
      assert.equal(replacement.alg, 'ES256');

      // Applied on this instance before the response.
      assert.ok(!(await jwks()).body.keys.some((k) => k.kid === compromised!.kid));
      assert.equal((await issue()).kid, replacement.kid);
      assert.equal(
        (await client.tokenIntrospection(config, token)).active,
        false,
        'a token signed by the revoked key is no longer valid',
      );
      assert.equal((await gh.admin('POST', `/admin/keys/${compromised!.kid}/revoke`)).status, 409, 'already retired');
    });

    it('promotes a staged key when the current one is revoked, and records key changes in the audit log', async () => {
      const staged = await gh.admin('POST', '/admin/keys/rotate', { alg: 'EdDSA', publish_seconds: 60 });
      assert.equal(staged.status, 201);
      const [current] = (await keys()).filter((k) => k.alg === 'EdDSA' && k.state === 'current');
      const res = await gh.admin('POST', `/admin/keys/${current!.kid}/revoke`);
      assert.equal(res.status, 200);
      assert.equal(res.body.replacement.kid, staged.body.items[0].kid, 'the already-published key takes over');
      assert.equal(res.body.replacement.state, 'current');

      const emergency = await gh.admin('POST', '/admin/keys/rotate', { alg: 'RS256', emergency: true });
      assert.equal(emergency.status, 200, JSON.stringify(emergency.body));
      assert.equal(emergency.body.revoked.length, 1);
      assert.equal(emergency.body.items[0].state, 'current');

      const events = await until('key audit events', async () => {
        const res = await gh.admin('GET', '/admin/audit-events?type=key.revoked');
        return res.body.items.length >= 3 ? res.body.items : undefined;
      });
      assert.ok(
        events.every((e: { actor: unknown }) => e.actor),
        'each names the admin',
      );
      const stagedEvents = await gh.admin('GET', '/admin/audit-events?type=key.rotation_staged');
      assert.ok(
        stagedEvents.body.items.some((e: { data: { kid: string } }) => e.data.kid === staged.body.items[0].kid),
      );
    });
  });
}

describe('scheduled signing-key rotation (postgres, two instances)', {
  skip: !backends().includes('postgres') && 'postgres backend not selected',
}, () => {
  let a: RunningGatehouse;
  let b: RunningGatehouse;
  const env = {
    SIGNING_KEY_ROTATION_INTERVAL_SECONDS: '2',
    SIGNING_KEY_POLL_SECONDS: '1',
    JWKS_MAX_AGE_SECONDS: '0',
    SIGNING_KEY_PUBLISH_SECONDS: '3600',
  };
  before(async () => {
    a = await startGatehouse('postgres', { env });
    b = await startGatehouse('postgres', {
      storage: a.storage,
      env: { ...env, ISSUER: a.issuer, GATEHOUSE_ADMIN_KEY: a.adminKey },
    });
  });
  after(async () => {
    await b?.stop();
    await a?.destroy();
  });

  it('stages exactly one rotation per algorithm once the current keys are older than the interval', async () => {
    const staged = await until('a scheduled rotation', async () => {
      const items = (await a.admin('GET', '/admin/keys')).body.items as KeyView[];
      const next = items.filter((k) => k.state === 'next');
      return next.length === 3 ? next : undefined;
    });
    assert.deepEqual(staged.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
    // Both instances tick every second: still only one staged key per algorithm afterwards.
    await sleep(2500);
    const items = (await a.admin('GET', '/admin/keys')).body.items as KeyView[];
    assert.equal(items.filter((k) => k.state === 'next').length, 3);
    assert.equal(items.length, 6);
  });
});
