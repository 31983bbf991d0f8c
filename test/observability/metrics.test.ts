import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition into samples (enough for our own output). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of m[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

for (const backend of backends()) {
  describe(`metrics (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    async function scrape(): Promise<Sample[]> {
      const res = await fetch(`${gh.adminUrl}/metrics`);
      assert.equal(res.status, 200);
      return parseExposition(await res.text());
    }

    it('serves the Prometheus text format on the admin port without the admin key', async () => {
      const res = await fetch(`${gh.adminUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.match(text, /^# HELP gatehouse_http_requests_total /m);
      assert.match(text, /^# TYPE gatehouse_http_request_duration_seconds histogram$/m);
      parseExposition(text);
    });

    it('is not served on the public port', async () => {
      const res = await fetch(`${gh.issuer}/metrics`);
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /gatehouse_/);
    });

    it('counts a client_credentials token by grant type, and the token route by name and status', async () => {
      const res = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const app = res.body as { client_id: string; client_secret: string };
      const beforeSamples = await scrape();
      const tokens = await client.clientCredentialsGrant(await discover(gh, app), {});
      const samples = await scrape();

      const issued = { grant_type: 'client_credentials' };
      assert.equal(
        total(samples, 'gatehouse_tokens_issued_total', issued),
        total(beforeSamples, 'gatehouse_tokens_issued_total', issued) + 1,
      );
      const token = { port: 'public', route: 'token', method: 'POST', status: '200' };
      assert.equal(
        total(samples, 'gatehouse_http_requests_total', token),
        total(beforeSamples, 'gatehouse_http_requests_total', token) + 1,
      );
      assert.ok(
        total(samples, 'gatehouse_http_request_duration_seconds_count', token) >= 1,
        'a latency series for the token route',
      );

      // Labels come from closed sets: no client id, secret, token or raw path anywhere.
      for (const s of samples) {
        for (const value of Object.values(s.labels)) {
          assert.ok(!value.includes(app.client_id), `label leaks the client id: ${s.name} ${JSON.stringify(s.labels)}`);
          assert.ok(!value.includes(app.client_secret), `label leaks the client secret: ${s.name}`);
          assert.ok(!value.includes(tokens.access_token), `label leaks the token: ${s.name}`);
        }
      }
    });

    it('labels admin and interaction requests by router pattern, not by id', async () => {
      const user = await createUser(gh);
      assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).status, 200);
      const samples = await scrape();
      assert.ok(
        total(samples, 'gatehouse_http_requests_total', {
          port: 'admin',
          route: '/admin/users/:id',
          method: 'GET',
          status: '200',
        }) >= 1,
      );
      assert.ok(
        !samples.some((s) => Object.values(s.labels).some((v) => v.includes(user.id))),
        'a label carries a user id',
      );
    });

    it('counts a failed sign-in', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const ua = new UserAgent();
      const login = await ua.follow(url.toString(), gh.issuer);
      assert.ok(login.html?.includes('name="password"'), 'the login page');
      const beforeCount = total(await scrape(), 'gatehouse_login_failures_total');
      const failed = await ua.follow(new URL(formAction(login.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(login.html!, 'csrf'), email: user.email, password: 'not the password at all' },
      });
      assert.equal(failed.res.status, 401);
      const samples = await scrape();
      assert.equal(total(samples, 'gatehouse_login_failures_total'), beforeCount + 1);
      const credentialsBefore = total(samples, 'gatehouse_login_failures_total', { reason: 'invalid_credentials' });
      assert.ok(credentialsBefore >= 1);
      // An unknown email counts under the same label: /metrics does not tell which emails exist.
      const again = await ua.follow(new URL(formAction(failed.html!), gh.issuer).toString(), gh.issuer, {
        form: {
          csrf: hiddenField(failed.html!, 'csrf'),
          email: `nobody-${Date.now()}@example.com`,
          password: 'not the password at all',
        },
      });
      assert.equal(again.res.status, 401);
      const after = await scrape();
      assert.equal(
        total(after, 'gatehouse_login_failures_total', { reason: 'invalid_credentials' }),
        credentialsBefore + 1,
      );
      for (const reason of ['unknown_email', 'wrong_password', 'no_password']) {
        assert.equal(total(after, 'gatehouse_login_failures_total', { reason }), 0, `no ${reason} series`);
      }
      assert.ok(
        total(samples, 'gatehouse_http_requests_total', {
          port: 'public',
          route: '/interaction/:uid/login/:strategy',
          status: '401',
        }) >= 1,
        'the interaction route is labelled by its pattern',
      );
    });

    it('counts a refresh token reuse', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      await client.refreshTokenGrant(config, tokens.refresh_token!);
      const beforeCount = total(await scrape(), 'gatehouse_refresh_token_reuse_total');
      await assert.rejects(
        client.refreshTokenGrant(config, tokens.refresh_token!),
        (err: Error & { error?: string }) => err.error === 'invalid_grant',
      );
      assert.equal(total(await scrape(), 'gatehouse_refresh_token_reuse_total'), beforeCount + 1);
    });

    it('counts only the rotations that were answered with tokens when they race', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const issued = { grant_type: 'refresh_token' };
      const beforeCount = total(await scrape(), 'gatehouse_tokens_issued_total', issued);
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => client.refreshTokenGrant(config, tokens.refresh_token!)),
      );
      const answered = results.filter((r) => r.status === 'fulfilled').length;
      assert.ok(answered >= 1);
      assert.equal(total(await scrape(), 'gatehouse_tokens_issued_total', issued), beforeCount + answered);
    });

    it('exports event-loop lag, signing key ages, pool and process metrics', async () => {
      const samples = await scrape();
      const names = new Set(samples.map((s) => s.name));
      for (const name of [
        'nodejs_eventloop_lag_seconds',
        'nodejs_eventloop_lag_p99_seconds',
        'process_resident_memory_bytes',
        'gatehouse_db_pool_connections',
      ]) {
        assert.ok(names.has(name), `missing ${name}`);
      }
      const ages = samples.filter((s) => s.name === 'gatehouse_signing_key_age_seconds');
      assert.deepEqual(new Set(ages.map((s) => s.labels.kid)), new Set(gh.instance.kids));
      for (const age of ages) assert.ok(age.value >= 0 && age.value < 3600, `${age.labels.kid}: ${age.value}`);
      if (backend === 'postgres') assert.equal(total(samples, 'gatehouse_redis_up'), 1);
      else assert.ok(!names.has('gatehouse_redis_up'), 'no Redis gauge without Redis');
    });
  });
}
