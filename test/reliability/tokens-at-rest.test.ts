import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { backends, TEST_REDIS_URL } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, codeFlow, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';
import { hashTokenId } from '../../src/storage/oidc-adapters/stored-ids.js';

/** Everything the stores hold for this deployment, as one text: every SQL row and every Redis key and value. */
async function dumpStores(gh: RunningGatehouse): Promise<string> {
  const rows = await gh.instance.database.db()('oidc_models').select('*');
  const parts = [JSON.stringify(rows)];
  const prefix = gh.env.REDIS_KEY_PREFIX;
  if (gh.env.REDIS_URL && prefix) {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          parts.push(key);
          const type = await redis.type(key);
          if (type === 'string') parts.push((await redis.get(key)) ?? '');
          else if (type === 'set') parts.push(...(await redis.smembers(key)));
          else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
        }
      } while (cursor !== '0');
    } finally {
      await redis.quit();
    }
  }
  return parts.join('\n');
}

for (const backend of backends()) {
  describe(`tokens at rest (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('stores no token, code or session id in plaintext, in SQL or Redis', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const ua = new UserAgent();
      const flow = await codeFlow(gh, config, { user, ua });
      const code = flow.callbackUrl.searchParams.get('code')!;
      // The code is still unredeemed here: it must be stored, and not as itself.
      const withCode = await dumpStores(gh);
      assert.ok(!withCode.includes(code), 'authorization code in plaintext');
      const tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      });
      const rotated = await client.refreshTokenGrant(config, tokens.refresh_token!);
      const sessionId = [...ua.cookies].find(([name]) => /session$/.test(name) && !name.endsWith('.sig'))?.[1];
      assert.ok(sessionId, `a session cookie: ${[...ua.cookies.keys()].join(', ')}`);
      // A second authorization with the signed-in browser stops at consent: its interaction
      // records the session it belongs to.
      const pending = await ua.follow(
        client
          .buildAuthorizationUrl(config, {
            redirect_uri: 'http://127.0.0.1:8976/callback',
            scope: 'openid',
            prompt: 'consent',
            code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
            code_challenge_method: 'S256',
          })
          .toString(),
        gh.issuer,
      );
      assert.match(pending.html ?? '', /name="decision"/);

      const dump = await dumpStores(gh);
      const secrets: Record<string, string> = {
        'first refresh token': tokens.refresh_token!,
        'rotated refresh token': rotated.refresh_token!,
        'opaque access token': tokens.access_token,
        'rotated access token': rotated.access_token,
        'session id': sessionId,
      };
      for (const [what, value] of Object.entries(secrets))
        assert.ok(!dump.includes(value), `${what} stored in plaintext`);
      // And the stores still answer for them: the rotated token works, the session is found.
      const info = await client.fetchUserInfo(config, rotated.access_token, client.skipSubjectCheck);
      assert.equal(info.sub, user.id);
      const next = await client.refreshTokenGrant(config, rotated.refresh_token!);
      assert.ok(next.refresh_token);
    });

    it('migrates refresh tokens stored in plaintext by an earlier version, and they keep working', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await (async () => {
        const flow = await codeFlow(gh, config, { user });
        return {
          tokens: await client.authorizationCodeGrant(config, flow.callbackUrl, {
            pkceCodeVerifier: flow.verifier,
            expectedState: flow.state,
            expectedNonce: flow.nonce,
          }),
        };
      })();
      const value = tokens.refresh_token!;
      // Put the row back the way versions before 008 stored it: keyed and carrying its value.
      const db = gh.instance.database.db();
      const changed = await db('oidc_models')
        .where({ model: 'RefreshToken', id: hashTokenId(value) })
        .update({ id: value, payload: db.raw("payload || jsonb_build_object('jti', ?::text)", [value]) });
      assert.equal(Number((changed as unknown as { rowCount?: number }).rowCount ?? changed), 1);
      await db.raw('alter table oidc_models drop column successor_sealed');
      await db('knex_migrations').where('name', 'like', '008_%').delete();

      await gh.restart();
      const dump = await dumpStores(gh);
      assert.ok(!dump.includes(value), 'the migrated token is no longer stored in plaintext');
      const rotated = await client.refreshTokenGrant(config, value);
      assert.ok(rotated.refresh_token && rotated.refresh_token !== value, 'the migrated token still rotates');
    });

    it('re-keys access tokens an earlier version wrote to Redis, and they keep working', {
      skip: backend !== 'postgres',
    }, async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const flow = await codeFlow(gh, config, { user });
      const tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      });
      const value = tokens.access_token;
      const prefix = gh.env.REDIS_KEY_PREFIX!;
      const redis = new Redis(TEST_REDIS_URL);
      try {
        // The access token the way versions before hashed ids stored it: keyed by its value, carrying it.
        const hashedKey = `${prefix}AccessToken:{${hashTokenId(value)}}`;
        const legacyKey = `${prefix}AccessToken:{${value}}`;
        const payload = JSON.parse((await redis.get(hashedKey))!) as Record<string, unknown>;
        const ttl = await redis.pttl(hashedKey);
        await redis.set(legacyKey, JSON.stringify({ ...payload, jti: value }), 'PX', ttl);
        const grantKey = `${prefix}grant:{${payload.grantId as string}}`;
        await redis.srem(grantKey, hashedKey);
        await redis.sadd(grantKey, legacyKey);
        await redis.del(hashedKey, `${prefix}meta:token-ids-hashed`);
      } finally {
        await redis.quit();
      }
      await gh.restart();
      const dump = await dumpStores(gh);
      assert.ok(!dump.includes(value), 'the old access token is no longer a Redis key or value');
      const info = await client.fetchUserInfo(config, value, client.skipSubjectCheck);
      assert.equal(info.sub, user.id);
      // Still revocable with its grant: the grant index points at the new key.
      const grants = await gh.admin('GET', `/admin/users/${user.id}/grants`);
      const revoked = await gh.admin('DELETE', `/admin/users/${user.id}/grants/${grants.body.items[0].id}`);
      assert.equal(revoked.status, 204);
      await assert.rejects(client.fetchUserInfo(config, value, client.skipSubjectCheck));
    });
  });
}
