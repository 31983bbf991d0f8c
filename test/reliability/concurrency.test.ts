import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, codeFlow, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const RACERS = 20;

async function tokenRequest(issuer: string, app: { client_id: string; client_secret?: string }, form: Record<string, string>) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.client_id)}:${encodeURIComponent(app.client_secret!)}`).toString('base64')}`,
    },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: await res.json() as Record<string, string> };
}

for (const backend of backends()) {
  describe(`single use under concurrency (${backend})`, () => {
    // On PostgreSQL + Redis two instances share the stores and the requests alternate between them;
    // PGlite is single-process by design, so there it is one instance.
    const instances: RunningGatehouse[] = [];
    before(async () => {
      const first = await startGatehouse(backend);
      instances.push(first);
      if (backend === 'postgres') {
        instances.push(await startGatehouse(backend, { storage: first.storage, env: { ISSUER: first.issuer, GATEHOUSE_ADMIN_KEY: first.adminKey } }));
      }
    });
    after(async () => {
      for (const gh of instances.slice(1)) await gh.stop();
      await instances[0]?.destroy();
    });
    const tokenUrlFor = (i: number) => {
      const gh = instances[i % instances.length]!;
      return `http://127.0.0.1:${gh.port}`;
    };

    it(`redeems one authorization code exactly once out of ${RACERS} parallel requests`, async () => {
      const gh = instances[0]!;
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const flow = await codeFlow(gh, config, { user });
      const code = flow.callbackUrl.searchParams.get('code')!;
      const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => tokenRequest(tokenUrlFor(i), app, {
        grant_type: 'authorization_code', code, code_verifier: flow.verifier, redirect_uri: CALLBACK,
      })));
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, `exactly one success, got ${ok.length}: ${JSON.stringify(results.map((r) => r.status))}`);
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 400);
        assert.equal(r.body.error, 'invalid_grant');
      }
    });

    it(`rotates one refresh token exactly once out of ${RACERS} parallel requests`, async () => {
      const gh = instances[0]!;
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const results = await Promise.all(Array.from({ length: RACERS }, (_, i) => tokenRequest(tokenUrlFor(i), app, {
        grant_type: 'refresh_token', refresh_token: tokens.refresh_token!,
      })));
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, `exactly one success, got ${ok.length}: ${JSON.stringify(results.map((r) => r.status))}`);
      for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.body.error, 'invalid_grant');
      // A racer that arrives after the winner committed is indistinguishable from reuse, so the
      // family may be revoked (RFC 9700 §4.14.2); what must never happen is a second success.
      assert.notEqual(ok[0]!.body.refresh_token, tokens.refresh_token);
    });
  });
}
