import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, codeFlow, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';

for (const backend of backends()) {
  describe(`authorization code + PKCE (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('publishes strict discovery metadata', async () => {
      const res = await fetch(`${gh.issuer}/.well-known/openid-configuration`);
      const meta = await res.json();
      assert.equal(meta.issuer, gh.issuer);
      assert.deepEqual(meta.response_types_supported, ['code']);
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
      assert.deepEqual([...meta.grant_types_supported].sort(), [
        'authorization_code',
        'client_credentials',
        'refresh_token',
      ]);
      assert.deepEqual(meta.response_modes_supported, ['query', 'form_post']);
      assert.equal(meta.authorization_response_iss_parameter_supported, true);
      assert.ok(meta.pushed_authorization_request_endpoint);
      assert.ok(meta.dpop_signing_alg_values_supported.includes('ES256'));
    });

    it('publishes only public keys in JWKS, for ES256, RS256 and EdDSA', async () => {
      const jwks = await (await fetch(`${gh.issuer}/jwks`)).json();
      assert.deepEqual(jwks.keys.map((k: { alg: string }) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
      for (const k of jwks.keys) {
        for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
          assert.equal(k[priv], undefined, `${k.alg} JWK leaks ${priv}`);
        assert.ok(k.kid);
      }
    });

    it('signs a user in and issues ID, access and refresh tokens to a confidential client', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { tokens, callbackUrl } = await loginAndGetTokens(gh, config, { user });
      assert.equal(callbackUrl.searchParams.get('iss'), gh.issuer, 'RFC 9207 iss in the authorization response');
      const claims = tokens.claims()!;
      assert.equal(claims.sub, user.id);
      assert.equal(claims.email, user.email);
      assert.equal(claims.email_verified, true);
      assert.equal(claims.name, 'Test User');
      assert.ok(claims.at_hash, 'at_hash present');
      assert.deepEqual(claims.amr, ['pwd']);
      assert.ok(claims.acr);
      assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'ES256');
      const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
      await jwtVerify(tokens.id_token!, jwks, { issuer: gh.issuer, audience: app.client_id });
      assert.ok(tokens.refresh_token);
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
      assert.equal(info.email, user.email);
    });

    it('supports public clients (token_endpoint_auth_method none) and RS256 ID tokens', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'RS256' });
      assert.equal(app.client_secret, undefined);
      const config = await discover(gh, app, client.None());
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'RS256');
      assert.equal(tokens.claims()!.sub, user.id);
    });

    it('returns the response with form_post when asked', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      // form_post ends in an HTML page with a form to the callback instead of a redirect.
      await assert.rejects(
        codeFlow(gh, config, { user, extra: { response_mode: 'form_post' } }),
        /did not reach the callback: 200/,
      );
    });

    it('refuses response_mode=fragment', async () => {
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: 'http://127.0.0.1:8976/callback',
        scope: 'openid',
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
        response_mode: 'fragment',
      });
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
    });

    it('skips consent for first-party clients and shows it for others', async () => {
      const user = await createUser(gh);
      const firstParty = await createClient(gh, { first_party: true });
      const config = await discover(gh, firstParty);
      const { tokens } = await loginAndGetTokens(gh, config, { user, consent: 'skip', extra: { prompt: 'login' } });
      assert.equal(tokens.claims()!.sub, user.id);
    });

    it('sends access_denied back to the client when the user denies consent', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh);
      const config = await discover(gh, app);
      const { callbackUrl } = await codeFlow(gh, config, { user, consent: 'deny' });
      assert.equal(callbackUrl.searchParams.get('error'), 'access_denied');
      assert.equal(callbackUrl.searchParams.get('code'), null);
    });
  });
}
