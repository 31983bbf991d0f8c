import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';
import { CALLBACK, client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

type OAuthError = Error & { error?: string; status?: number };

async function thumbprint(keyPair: client.CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
}

/** A DPoP proof for POST /token, built by hand so the test controls whether it carries a nonce. */
async function tokenProof(issuer: string, key: CryptoKeyPair, nonce?: string): Promise<string> {
  return new SignJWT({ htm: 'POST', htu: `${issuer}/token`, jti: randomUUID(), ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
    .setIssuedAt()
    .sign(key.privateKey);
}

/**
 * A client_credentials token request with a DPoP proof. `port` sends it to another instance of
 * the same deployment, still addressed to the issuer's host (as a load balancer would).
 */
async function dpopTokenRequest(
  gh: RunningGatehouse,
  app: { client_id: string; client_secret?: string },
  proof: string,
  port = gh.port,
) {
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource: API }).toString();
  return new Promise<{ status: number; headers: Headers; json(): Promise<unknown>; text(): Promise<string> }>(
    (resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/token',
          method: 'POST',
          headers: {
            host: new URL(gh.issuer).host,
            authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            dpop: proof,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            resolve({ status: res.statusCode!, headers, json: async () => JSON.parse(text), text: async () => text });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    },
  );
}

const API = `https://dpop-api-${Math.random().toString(36).slice(2)}.example.test`;

async function machineClient(gh: RunningGatehouse) {
  const api = await gh.admin('GET', `/admin/resources/${encodeURIComponent(API)}`);
  if (api.status === 404) {
    const created = await gh.admin('POST', '/admin/resources', { indicator: API, scopes: [{ name: 'read' }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
  const res = await gh.admin('POST', '/admin/clients', {
    client_name: 'Worker',
    grant_types: ['client_credentials'],
    scope: 'read',
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { client_id: string; client_secret: string };
}

for (const backend of backends()) {
  describe(`DPoP nonces at the token endpoint (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('answers a proof without a server nonce with use_dpop_nonce and a DPoP-Nonce header; the retry succeeds', async () => {
      const app = await machineClient(gh);
      const key = await generateKeyPair('ES256');
      const first = await dpopTokenRequest(gh, app, await tokenProof(gh.issuer, key));
      assert.equal(first.status, 400);
      assert.equal(((await first.json()) as { error: string }).error, 'use_dpop_nonce');
      const nonce = first.headers.get('dpop-nonce');
      assert.ok(nonce, 'DPoP-Nonce header');

      const retry = await dpopTokenRequest(gh, app, await tokenProof(gh.issuer, key, nonce));
      const body = (await retry.json()) as { token_type: string; access_token: string };
      assert.equal(retry.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'DPoP');
    });

    it('refuses a nonce the server never issued', async () => {
      const app = await machineClient(gh);
      const key = await generateKeyPair('ES256');
      const res = await dpopTokenRequest(gh, app, await tokenProof(gh.issuer, key, 'made-up-nonce'));
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: string }).error, 'use_dpop_nonce');
      assert.ok(res.headers.get('dpop-nonce'));
    });

    it('does not ask for a nonce at the userinfo endpoint (resource servers decide for themselves)', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
      const { tokens } = await loginAndGetTokens(gh, config, { user, dpop });
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id, { DPoP: dpop });
      assert.equal(info.sub, user.id);
    });

    it('accepts a nonce issued by another instance of the same deployment', {
      skip: backend !== 'postgres' && 'two instances share PostgreSQL only',
    }, async () => {
      const other = await startGatehouse(backend, {
        storage: gh.storage,
        env: { ISSUER: gh.issuer, GATEHOUSE_ADMIN_KEY: gh.adminKey },
      });
      try {
        const app = await machineClient(gh);
        const key = await generateKeyPair('ES256');
        const first = await dpopTokenRequest(gh, app, await tokenProof(gh.issuer, key));
        const nonce = first.headers.get('dpop-nonce');
        assert.ok(nonce);
        const elsewhere = await dpopTokenRequest(gh, app, await tokenProof(gh.issuer, key, nonce), other.port);
        assert.equal(elsewhere.status, 200, await elsewhere.text());
      } finally {
        await other.stop();
      }
    });
  });

  describe(`DPoP without required nonces, DPOP_REQUIRE_NONCE=false (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, { env: { DPOP_REQUIRE_NONCE: 'false' } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('accepts a proof generated without a server nonce', async () => {
      const app = await machineClient(gh);
      const proof = await tokenProof(gh.issuer, await generateKeyPair('ES256'));
      const res = await dpopTokenRequest(gh, app, proof);
      const body = (await res.json()) as { token_type: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'DPoP');
    });
  });

  describe(`DPoP (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('binds the access token to the DPoP key (token_type DPoP, cnf.jkt)', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const keyPair = await client.randomDPoPKeyPair();
      const { tokens } = await loginAndGetTokens(gh, config, { user, dpop: client.getDPoPHandle(config, keyPair) });
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      const info = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.token_type, 'DPoP');
      assert.equal((info.cnf as { jkt?: string } | undefined)?.jkt, await thumbprint(keyPair));
    });

    it('refuses a token request without DPoP for a client registered with dpop_bound_access_tokens', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { dpop_bound_access_tokens: true });
      const config = await discover(gh, app);
      // RFC 9449 leaves the error code open; oidc-provider answers invalid_grant.
      await assert.rejects(
        loginAndGetTokens(gh, config, { user }),
        (e: OAuthError) =>
          e.status === 400 && ['invalid_grant', 'invalid_request', 'invalid_dpop_proof'].includes(e.error!),
      );

      // The same client with a proof gets a DPoP-bound token.
      const keyPair = await client.randomDPoPKeyPair();
      const { tokens } = await loginAndGetTokens(gh, config, { user, dpop: client.getDPoPHandle(config, keyPair) });
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    });

    it('binds public client refresh tokens to the DPoP key', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { token_endpoint_auth_method: 'none' });
      const config = await discover(gh, app, client.None());
      const keyPair = await client.randomDPoPKeyPair();
      const dpop = client.getDPoPHandle(config, keyPair);
      const { tokens } = await loginAndGetTokens(gh, config, { user, dpop });
      assert.ok(tokens.refresh_token);
      const info = await client.tokenIntrospection(config, tokens.refresh_token!);
      assert.equal(
        (info.cnf as { jkt?: string } | undefined)?.jkt,
        await thumbprint(keyPair),
        'refresh token carries the key binding',
      );

      const otherKey = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
      await assert.rejects(
        client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: otherKey }),
        (e: OAuthError) => e.error === 'invalid_grant',
      );
      await assert.rejects(
        client.refreshTokenGrant(config, tokens.refresh_token!),
        (e: OAuthError) => e.error === 'invalid_grant' || e.error === 'invalid_request',
      );

      // With the right key it still works: the refusals above were about the key, not a spent token.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: dpop });
      assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    });

    it('serves userinfo for a DPoP-bound access token presented with a proof, and not as a bearer token', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const keyPair = await client.randomDPoPKeyPair();
      const dpop = client.getDPoPHandle(config, keyPair);
      const { tokens } = await loginAndGetTokens(gh, config, { user, dpop });
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id, { DPoP: dpop });
      assert.equal(info.sub, user.id);
      assert.equal(info.email, user.email);

      const asBearer = await fetch(`${gh.issuer}/userinfo`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(asBearer.status, 401);
      const wrongKey = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
      await assert.rejects(client.fetchUserInfo(config, tokens.access_token, user.id, { DPoP: wrongKey }));
    });
  });

  describe(`pushed authorization requests (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('completes the code flow through PAR', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens, callbackUrl } = await loginAndGetTokens(gh, config, { user, par: true });
      assert.equal(callbackUrl.searchParams.get('iss'), gh.issuer);
      assert.equal(tokens.claims()?.sub, user.id);
    });

    it('sends only request_uri and client_id through the browser', async () => {
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const url = await client.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
      assert.match(url.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);
    });

    it('refuses a plain authorization request from a client that requires PAR, without redirecting', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { require_pushed_authorization_requests: true });
      const config = await discover(gh, app);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        state: 'st',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null, 'no redirect to the redirect_uri');
      const html = await res.text();
      assert.match(html, /invalid_request/);
      assert.ok(!html.includes(CALLBACK), 'no form post to the redirect_uri either');

      const formPost = new URL(url);
      formPost.searchParams.set('response_mode', 'form_post');
      const fp = await fetch(formPost, { redirect: 'manual' });
      assert.equal(fp.status, 400);
      assert.equal(fp.headers.get('location'), null);
      assert.ok(!(await fp.text()).includes(CALLBACK), 'no auto-submitting form to the redirect_uri');

      const post = await fetch(new URL('/authorize', gh.issuer), {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: url.searchParams.toString(),
      });
      // A POST is re-issued as the same GET (303 to /authorize), which is refused the same way.
      assert.equal(post.status, 303);
      const reissued = new URL(post.headers.get('location')!, gh.issuer);
      assert.equal(`${reissued.origin}${reissued.pathname}`, `${gh.issuer}/authorize`);
      const followed = await fetch(reissued, { redirect: 'manual' });
      assert.equal(followed.status, 400);
      assert.equal(followed.headers.get('location'), null);

      // The same client signs in fine through PAR.
      const { tokens } = await loginAndGetTokens(gh, config, { user, par: true });
      assert.equal(tokens.claims()?.sub, user.id);
    });

    it('refuses a request_uri once it has produced an authorization response', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const url = await client.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        state: 'st',
        prompt: 'consent',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const ua = new UserAgent();
      let step = await ua.follow(url.toString(), gh.issuer);
      step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), email: user.email, password: user.password },
      });
      step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), decision: 'allow' },
      });
      assert.ok(step.url.startsWith(CALLBACK) && new URL(step.url).searchParams.get('code'), 'first use yields a code');

      // RFC 9126 §4: request_uri values are one-time use.
      const replay = await ua.follow(url.toString(), gh.issuer);
      assert.equal(replay.res.status, 400);
      assert.equal(replay.res.headers.get('location'), null);
      assert.match(replay.html ?? '', /invalid_request_uri/);
    });
  });
}
