import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

/** A whole staged rotation in seconds: JWKS cached 2 s, keys polled every second (or notified over Redis). */
const ROTATION_ENV = {
  JWKS_MAX_AGE_SECONDS: '2',
  SIGNING_KEY_RETIRE_GRACE_SECONDS: '0',
  ID_TOKEN_TTL_SECONDS: '3',
  ACCESS_TOKEN_TTL_SECONDS: '3',
  ADMIN_ACCESS_TOKEN_TTL_SECONDS: '3',
};

const MODES: { name: string; env: Record<string, string>; publishSeconds: number; noticeWithinMs: number }[] = [
  // Redis present: the other instance hears of the change over pub/sub, long before its 10 s poll.
  {
    name: 'PostgreSQL + Redis, pub/sub',
    env: { SIGNING_KEY_POLL_SECONDS: '10' },
    publishSeconds: 17,
    noticeWithinMs: 500,
  },
  // No Redis: the other instance finds the change by polling the database.
  {
    name: 'PostgreSQL without Redis, polling',
    env: { SIGNING_KEY_POLL_SECONDS: '1', REDIS_URL: '' },
    publishSeconds: 8,
    noticeWithinMs: 2500,
  },
];

/**
 * A relying party that caches the JWKS as long as the server's Cache-Control allows and never
 * refetches on an unknown kid: openid-client verifies every ID token's signature
 * (non-repudiation checks) against that cache, and a resource server verifies JWT access tokens
 * against the same cached set. Every request goes to the other instance than the one before.
 */
class CachingRelyingParty {
  private config!: client.Configuration;
  private fetchedAt = 0;
  private maxAgeMs = 0;
  private jwks?: JSONWebKeySet;
  private turn = 0;
  failures: string[] = [];
  idTokenKids: string[] = [];
  accessTokenKids: string[] = [];

  constructor(
    private readonly server: client.ServerMetadata,
    private readonly app: { client_id: string; client_secret?: string },
    private readonly instances: RunningGatehouse[],
  ) {}

  private route = (url: string) => {
    const u = new URL(url);
    u.port = String(this.instances[this.turn++ % this.instances.length]!.port);
    return u.toString();
  };

  private fetchThrough: client.CustomFetch = async (url, options) => {
    const res = await fetch(this.route(url), options as RequestInit);
    if (new URL(url).pathname === '/jwks') {
      const maxAge = /max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1];
      this.maxAgeMs = Number(maxAge ?? 0) * 1000;
      this.fetchedAt = Date.now();
      this.jwks = (await res.clone().json()) as JSONWebKeySet;
    }
    return res;
  };

  /** The openid-client configuration, rebuilt (empty JWKS cache) only when the cached set is stale. */
  private current(): client.Configuration {
    if (!this.config || (this.fetchedAt && Date.now() - this.fetchedAt >= this.maxAgeMs)) {
      this.config = new client.Configuration(
        this.server,
        this.app.client_id,
        this.app.client_secret,
        client.ClientSecretBasic(this.app.client_secret!),
      );
      client.allowInsecureRequests(this.config);
      client.enableNonRepudiationChecks(this.config);
      this.config[client.customFetch] = this.fetchThrough;
      this.fetchedAt = 0;
    }
    return this.config;
  }

  async refresh(refreshToken: string): Promise<string> {
    try {
      const tokens = await client.refreshTokenGrant(this.current(), refreshToken);
      this.idTokenKids.push(decodeProtectedHeader(tokens.id_token!).kid!);
      return tokens.refresh_token!;
    } catch (err) {
      const e = err as Error & { code?: string };
      this.failures.push(`refresh: ${e.code ?? ''} ${e.message}`);
      throw err;
    }
  }

  async clientCredentials(resource: string): Promise<void> {
    const config = this.current();
    const { access_token } = await client.clientCredentialsGrant(config, { scope: 'read', resource });
    if (!this.jwks) {
      // The resource server shares the relying party's cache; fill it the way openid-client would.
      await this.fetchThrough(this.server.jwks_uri!, {} as never);
    }
    this.accessTokenKids.push(decodeProtectedHeader(access_token).kid!);
    try {
      await jwtVerify(access_token, createLocalJWKSet(this.jwks!), { issuer: this.server.issuer, audience: resource });
    } catch (err) {
      this.failures.push(`access token: ${(err as Error).message}`);
    }
  }
}

for (const mode of MODES) {
  describe(`staged key rotation across two instances (${mode.name})`, {
    skip: !backends().includes('postgres') && 'postgres backend not selected',
  }, () => {
    let a: RunningGatehouse;
    let b: RunningGatehouse;
    before(async () => {
      const env = { ...ROTATION_ENV, ...mode.env };
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

    it('a relying party with a cached JWKS sees zero verification failures, and every instance follows without a restart', async () => {
      const api = `https://rotation-${Math.random().toString(36).slice(2)}.example.test`;
      assert.equal(
        (
          await a.admin('POST', '/admin/resources', {
            indicator: api,
            scopes: [{ name: 'read' }],
            access_token_format: 'jwt',
            signing_alg: 'ES256',
          })
        ).status,
        201,
      );
      const app = await createClient(a, {
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scope: 'openid offline_access read',
      });
      const user = await createUser(a);
      const login = await loginAndGetTokens(a, await discover(a, app), { user, scope: 'openid offline_access' });
      const server = (await discover(a, app)).serverMetadata();
      const rp = new CachingRelyingParty(server, app, [a, b]);
      const oldKid = (await a.admin('GET', '/admin/keys')).body.items.find(
        (k: { alg: string; state: string }) => k.alg === 'ES256' && k.state === 'current',
      ).kid;

      let refreshToken = login.tokens.refresh_token!;
      let stop = false;
      let requests = 0;
      const traffic = (async () => {
        while (!stop) {
          refreshToken = await rp.refresh(refreshToken);
          await rp.clientCredentials(api);
          requests += 2;
          await sleep(50);
        }
      })();

      await sleep(1000);
      const rotated = await a.admin('POST', '/admin/keys/rotate', {
        alg: 'ES256',
        publish_seconds: mode.publishSeconds,
      });
      assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
      const newKid = rotated.body.items[0].kid as string;

      // The other instance publishes the staged key without a restart.
      const stagedAt = Date.now();
      for (;;) {
        const keys = (await (await fetch(`http://127.0.0.1:${b.port}/jwks`)).json()) as JSONWebKeySet;
        if (keys.keys.some((k) => k.kid === newKid)) break;
        assert.ok(
          Date.now() - stagedAt < mode.noticeWithinMs,
          `instance B published the staged key within ${mode.noticeWithinMs} ms`,
        );
        await sleep(50);
      }

      // Through activation and retirement of the old key (publish + token lifetime 3 s + a margin).
      const activatesAt = Date.parse(rotated.body.items[0].activated_at);
      while (Date.now() < activatesAt + 3000 + 2500) await sleep(200);
      stop = true;
      await traffic;

      assert.deepEqual(rp.failures, [], 'no verification failure at the relying party');
      assert.ok(requests > 20, `traffic ran (${requests} requests)`);
      assert.ok(
        rp.idTokenKids.includes(oldKid) && rp.idTokenKids.includes(newKid),
        'ID tokens were signed by the old key, then by the new one',
      );
      assert.equal(rp.idTokenKids.at(-1), newKid);
      assert.equal(rp.accessTokenKids.at(-1), newKid);
      // Once the new key signs, no instance goes back to the old one.
      const firstNew = rp.idTokenKids.indexOf(newKid);
      assert.ok(
        rp.idTokenKids.slice(firstNew).every((k) => k === newKid),
        'no instance signs with the old key after the switch',
      );
      for (const gh of [a, b]) {
        const published = (await (await fetch(`http://127.0.0.1:${gh.port}/jwks`)).json()) as JSONWebKeySet;
        assert.ok(!published.keys.some((k) => k.kid === oldKid), 'the old key retired on every instance');
        assert.ok(published.keys.some((k) => k.kid === newKid));
      }
    });
  });
}
