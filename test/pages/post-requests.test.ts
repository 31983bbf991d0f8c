import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

const BYE = 'http://127.0.0.1:8976/bye';

/**
 * OIDC Core §3.1.2.1: the authorization endpoint accepts POST (mod_auth_openidc's
 * `OIDCProviderAuthRequestMethod POST`), and RP-Initiated Logout accepts POST at /logout.
 * Gatehouse answers the form with a 303 to the GET form (Lax cookies keep working).
 */
for (const backend of backends()) {
  describe(`POST /authorize and POST /logout (${backend})`, () => {
    let gh: RunningGatehouse;
    let user: { id: string; email: string; password: string };
    let app: { client_id: string; client_secret?: string };
    let config: client.Configuration;

    before(async () => {
      gh = await startGatehouse(backend);
      user = await createUser(gh);
      app = await createClient(gh, { post_logout_redirect_uris: [BYE] });
      config = await discover(gh, app);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('a form POST to /authorize completes the code flow', async () => {
      const ua = new UserAgent();
      const verifier = client.randomPKCECodeVerifier();
      const form = {
        client_id: app.client_id,
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'openid email',
        state: 'posted-state',
        nonce: 'posted-nonce',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      };
      const posted = await ua.request(new URL('/authorize', gh.issuer).toString(), { form });
      assert.equal(posted.status, 303);
      const location = new URL(posted.headers.get('location')!, gh.issuer);
      assert.equal(location.pathname, '/authorize');
      assert.equal(location.searchParams.get('state'), 'posted-state');
      assert.equal(posted.headers.get('cache-control'), 'no-store');

      let step = await ua.follow(location.toString(), gh.issuer);
      step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), email: user.email, password: user.password },
      });
      step = await ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(step.html!, 'csrf'), decision: 'allow' },
      });
      assert.ok(step.url.startsWith(CALLBACK), `reached ${step.url}`);
      const tokens = await client.authorizationCodeGrant(config, new URL(step.url), {
        pkceCodeVerifier: verifier,
        expectedState: 'posted-state',
        expectedNonce: 'posted-nonce',
        idTokenExpected: true,
      });
      assert.equal(tokens.claims()!.sub, user.id);
    });

    it('refuses an oversized form with 413 and a non-form body with 415, as pages or JSON', async () => {
      const big = await fetch(new URL('/authorize', gh.issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `state=${'x'.repeat(9000)}`,
        redirect: 'manual',
      });
      assert.equal(big.status, 413);
      assert.match(big.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await big.text(), /<h1>/);
      const json = await fetch(new URL('/authorize', gh.issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: '{}',
        redirect: 'manual',
      });
      assert.equal(json.status, 415);
      assert.equal((await json.json()).error, 'unsupported_media_type');
    });

    it('a form POST to /logout signs out and returns to the registered URI', async () => {
      const { ua, tokens } = await loginAndGetTokens(gh, config, { user });
      const posted = await ua.request(new URL('/logout', gh.issuer).toString(), {
        form: { id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE, state: 'bye-state' },
      });
      assert.equal(posted.status, 303);
      const location = new URL(posted.headers.get('location')!, gh.issuer);
      assert.equal(location.pathname, '/logout');
      let step = await ua.follow(location.toString(), gh.issuer);
      // The confirmation page (unless a valid id_token_hint lets the server skip it).
      if (step.html?.includes('name="xsrf"')) {
        step = await ua.follow(new URL(formAction(step.html), gh.issuer).toString(), gh.issuer, {
          form: { xsrf: hiddenField(step.html, 'xsrf'), logout: 'yes' },
        });
      }
      const back = new URL(step.url);
      assert.equal(`${back.origin}${back.pathname}`, BYE);
      assert.equal(back.searchParams.get('state'), 'bye-state');
    });

    it('other methods on the public port are our pages, never bare text', async () => {
      for (const [method, path] of [
        ['PUT', '/authorize'],
        ['DELETE', '/logout'],
        ['GET', '/no-such-page'],
        ['POST', '/no-such-page'],
        ['GET', '/interaction/abc/nothing'],
        ['POST', '/healthz'],
      ]) {
        const res = await fetch(new URL(path!, gh.issuer), { method, redirect: 'manual' });
        assert.ok(res.status === 404 || res.status === 405, `${method} ${path}: ${res.status}`);
        assert.match(res.headers.get('content-type') ?? '', /text\/html/, `${method} ${path}`);
        assert.match(await res.text(), /<main>/);
      }
    });
  });
}
