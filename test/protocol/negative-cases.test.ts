import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, codeFlow, createClient, createUser, discover } from '../support/relying-party.js';

type OAuthError = Error & { error?: string; status?: number };
const invalidGrant = (e: OAuthError) => e.error === 'invalid_grant';

/** Authorization request parameters that are valid apart from what a test overrides. */
async function authParams(overrides: Record<string, string | undefined> = {}) {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid',
    state: 'state-123',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

async function authorize(gh: RunningGatehouse, params: Record<string, string>) {
  const url = new URL('/authorize', gh.issuer);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  const body = await res.text();
  return { status: res.status, location, target: location ? new URL(location, gh.issuer) : undefined, body };
}

/**
 * A request the server refuses with the given error code: either sent back to the (valid,
 * registered) redirect_uri as `error` with state and without a code (RFC 6749 §4.1.2.1), or
 * shown on an error page.
 */
function assertRefused(r: Awaited<ReturnType<typeof authorize>>, error: string) {
  if (r.target?.href.startsWith(CALLBACK)) {
    assert.equal(r.target.searchParams.get('error'), error);
    assert.equal(r.target.searchParams.get('code'), null);
    assert.equal(r.target.searchParams.get('state'), 'state-123');
    assert.equal(r.target.hash, '', 'nothing in the fragment');
  } else {
    assert.equal(r.status, 400, `expected an error page, got ${r.status} ${r.location}`);
    assert.equal(r.location, null);
    assert.match(r.body, new RegExp(error));
  }
}

/** The redirect_uri must not be redirected to, or posted to, at all. */
function assertNotSentTo(r: Awaited<ReturnType<typeof authorize>>, uri: string) {
  assert.equal(r.status, 400, `status ${r.status} location ${r.location}`);
  assert.equal(r.location, null, `no redirect at all (got ${r.location})`);
  assert.ok(!r.body.includes(`action="${uri}`), 'no form that posts to the unregistered URI');
  assert.match(r.body, /redirect/i);
}

for (const backend of backends()) {
  describe(`refused requests (${backend})`, () => {
    let gh: RunningGatehouse;
    let user: { id: string; email: string; password: string };
    let app: { client_id: string; client_secret?: string };
    let config: client.Configuration;

    before(async () => {
      gh = await startGatehouse(backend);
      user = await createUser(gh);
      app = await createClient(gh);
      config = await discover(gh, app);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('refuses an authorization request without code_challenge', async () => {
      const r = await authorize(
        gh,
        await authParams({ client_id: app.client_id, code_challenge: undefined, code_challenge_method: undefined }),
      );
      assertRefused(r, 'invalid_request');
    });

    it('refuses code_challenge_method=plain', async () => {
      const verifier = client.randomPKCECodeVerifier();
      const r = await authorize(
        gh,
        await authParams({ client_id: app.client_id, code_challenge: verifier, code_challenge_method: 'plain' }),
      );
      assertRefused(r, 'invalid_request');
    });

    it('refuses response_type=token', async () => {
      const r = await authorize(gh, await authParams({ client_id: app.client_id, response_type: 'token' }));
      assert.ok(!(r.location ?? '').includes('access_token'));
      assertRefused(r, 'unsupported_response_type');
    });

    it('refuses a wrong code_verifier with invalid_grant', async () => {
      const flow = await codeFlow(gh, config, { user });
      await assert.rejects(
        client.authorizationCodeGrant(config, flow.callbackUrl, {
          pkceCodeVerifier: client.randomPKCECodeVerifier(),
          expectedState: flow.state,
          expectedNonce: flow.nonce,
        }),
        invalidGrant,
      );
    });

    for (const [label, uri] of [
      ['an unregistered redirect_uri', 'https://attacker.example.test/callback'],
      ['a redirect_uri differing by a trailing slash', `${CALLBACK}/`],
      ['a redirect_uri with an extra query parameter', `${CALLBACK}?next=https://attacker.example.test`],
      ['a redirect_uri differing in case of the path', CALLBACK.replace('callback', 'Callback')],
      ['a redirect_uri on another port', CALLBACK.replace(':8976', ':8977')],
    ] as const) {
      it(`shows an error page for ${label}, never redirecting to it`, async () => {
        const r = await authorize(gh, await authParams({ client_id: app.client_id, redirect_uri: uri }));
        assertNotSentTo(r, uri);
        // Same with response_mode=form_post: no auto-submitting form to the unregistered URI.
        const fp = await authorize(
          gh,
          await authParams({ client_id: app.client_id, redirect_uri: uri, response_mode: 'form_post' }),
        );
        assertNotSentTo(fp, uri);
      });
    }

    it('shows an error page for an unknown client, without redirecting', async () => {
      const r = await authorize(gh, await authParams({ client_id: 'no-such-client' }));
      assert.equal(r.status, 400);
      assert.equal(r.location, null);
      assert.match(r.body, /invalid_client/);
    });

    it('shows an error page when client_id is missing', async () => {
      const r = await authorize(gh, await authParams());
      assert.equal(r.status, 400);
      assert.equal(r.location, null);
    });

    it('refuses a reused code and revokes the tokens issued from it', async () => {
      const flow = await codeFlow(gh, config, { user });
      const checks = { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce };
      const tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, checks);
      assert.ok(tokens.refresh_token);
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);

      await assert.rejects(client.authorizationCodeGrant(config, flow.callbackUrl, checks), invalidGrant);

      assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
      assert.deepEqual(await client.tokenIntrospection(config, tokens.refresh_token!), { active: false });
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), invalidGrant);
      await assert.rejects(client.fetchUserInfo(config, tokens.access_token, user.id));
    });

    it('refuses a code redeemed by another client', async () => {
      const flow = await codeFlow(gh, config, { user });
      const other = await discover(gh, await createClient(gh));
      await assert.rejects(
        client.authorizationCodeGrant(other, flow.callbackUrl, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
        }),
        invalidGrant,
      );
    });

    it('refuses an unknown code with invalid_grant', async () => {
      const flow = await codeFlow(gh, config, { user });
      const forged = new URL(flow.callbackUrl);
      forged.searchParams.set('code', 'x'.repeat(43));
      await assert.rejects(
        client.authorizationCodeGrant(config, forged, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
        }),
        invalidGrant,
      );
    });

    it('refuses a code redeemed with a different redirect_uri', async () => {
      const flow = await codeFlow(gh, config, { user });
      const res = await fetch(`${gh.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${app.client_id}:${encodeURIComponent(app.client_secret!)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: flow.callbackUrl.searchParams.get('code')!,
          code_verifier: flow.verifier,
          redirect_uri: `${CALLBACK}/`,
        }).toString(),
      });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error, 'invalid_grant');
    });
  });

  describe(`expired authorization code (${backend})`, () => {
    let gh: RunningGatehouse;
    /** Short enough to wait out in a test, long enough for the sign-in to finish. */
    const CODE_TTL_SECONDS = 1;
    before(async () => {
      gh = await startGatehouse(backend, { env: { AUTHORIZATION_CODE_TTL_SECONDS: String(CODE_TTL_SECONDS) } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('refuses an expired code with invalid_grant', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const flow = await codeFlow(gh, config, { user });
      await sleep(CODE_TTL_SECONDS * 1000 + 1100);
      await assert.rejects(
        client.authorizationCodeGrant(config, flow.callbackUrl, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
        }),
        invalidGrant,
      );
      // Diagnosable (issue 12 §2): the audit log says why.
      const failed = await gh.admin(
        'GET',
        `/admin/audit-events?${new URLSearchParams({ type: 'token.failed', client: app.client_id })}`,
      );
      // The store forgets a code at its expiry, so the reason reads "not found (expired, …)".
      assert.match(String(failed.body.items[0]?.data.reason), /expired/);
      assert.equal(failed.body.items[0]?.data.grant_type, 'authorization_code');
    });
  });
}
