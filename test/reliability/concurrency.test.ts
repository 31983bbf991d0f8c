import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, codeFlow, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

const RACERS = 20;

async function tokenRequest(
  issuer: string,
  app: { client_id: string; client_secret?: string },
  form: Record<string, string>,
  path = '/token',
) {
  const res = await fetch(`${issuer}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.client_id)}:${encodeURIComponent(app.client_secret!)}`).toString('base64')}`,
    },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
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
        instances.push(
          await startGatehouse(backend, {
            storage: first.storage,
            env: { ISSUER: first.issuer, GATEHOUSE_ADMIN_KEY: first.adminKey },
          }),
        );
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
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) =>
          tokenRequest(tokenUrlFor(i), app, {
            grant_type: 'authorization_code',
            code,
            code_verifier: flow.verifier,
            redirect_uri: CALLBACK,
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      assert.equal(
        ok.length,
        1,
        `exactly one success, got ${ok.length}: ${JSON.stringify(results.map((r) => r.status))}`,
      );
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 400);
        assert.equal(r.body.error, 'invalid_grant');
      }
    });

    it(`rotates one refresh token once out of ${RACERS} parallel requests, and the losers revoke the family`, async () => {
      const gh = instances[0]!;
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) =>
          tokenRequest(tokenUrlFor(i), app, {
            grant_type: 'refresh_token',
            refresh_token: tokens.refresh_token!,
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      assert.equal(
        ok.length,
        1,
        `exactly one success, got ${ok.length}: ${JSON.stringify(results.map((r) => r.status))}`,
      );
      for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.body.error, 'invalid_grant');
      const winner = ok[0]!.body;
      assert.notEqual(winner.refresh_token, tokens.refresh_token);
      // RFC 9700 §4.14: attacker and client presented the same token, so the whole family is
      // dead — the winner's successor and its access token too, on every instance.
      const again = await tokenRequest(tokenUrlFor(1), app, {
        grant_type: 'refresh_token',
        refresh_token: winner.refresh_token!,
      });
      assert.equal(again.status, 400);
      assert.equal(again.body.error, 'invalid_grant');
      const introspected = await tokenRequest(
        tokenUrlFor(0),
        app,
        { token: winner.access_token! },
        '/token/introspection',
      );
      assert.equal(introspected.body.active, false, "the winner's access token was revoked with the family");
      const audit = await gh.admin(
        'GET',
        `/admin/audit-events?type=refresh.reuse_detected&user=${encodeURIComponent(user.id)}`,
      );
      assert.equal(audit.status, 200);
      assert.ok(audit.body.items.length >= 1, 'the lost race is audited as reuse');
    });

    it(`answers every racer with the winner's one successor when the client has a grace window`, async () => {
      const gh = instances[0]!;
      const user = await createUser(gh);
      const app = await createClient(gh, { refresh_token_grace_seconds: 30 });
      const config = await discover(gh, app);
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) =>
          tokenRequest(tokenUrlFor(i), app, {
            grant_type: 'refresh_token',
            refresh_token: tokens.refresh_token!,
          }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        results.map(() => 200),
        JSON.stringify(results.map((r) => r.body.error)),
      );
      const successors = new Set(results.map((r) => r.body.refresh_token));
      assert.equal(successors.size, 1, 'one successor for all racers, never a second');
      const [successor] = [...successors];
      assert.notEqual(successor, tokens.refresh_token);
      // Exactly two refresh tokens were ever stored in this family: the original and its successor.
      const stored = await gh.instance.database
        .db()('oidc_models')
        .where({ model: 'RefreshToken' })
        .whereRaw("payload->>'accountId' = ?", [user.id])
        .count<{ count: string | number }[]>('* as count');
      assert.equal(Number(stored[0]!.count), 2);
      // The successor works and rotates normally.
      const next = await tokenRequest(tokenUrlFor(1), app, { grant_type: 'refresh_token', refresh_token: successor! });
      assert.equal(next.status, 200);
      assert.notEqual(next.body.refresh_token, successor);
    });
  });
}
