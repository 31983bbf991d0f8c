import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';
import { formAction, hiddenField, type UserAgent } from '../support/user-agent.js';

const BYE = 'http://127.0.0.1:8976/bye';

/** A silent (prompt=none) authorization request in the given browser; returns where it ends. */
async function silentAuthorization(gh: RunningGatehouse, config: client.Configuration, ua: UserAgent) {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    prompt: 'none',
    state: 'silent',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const step = await ua.follow(url.toString(), gh.issuer);
  assert.ok(step.url.startsWith(CALLBACK), `silent request ends at the callback: ${step.res.status} ${step.url}`);
  return new URL(step.url);
}

/** What a browser does with oidc-provider's auto-submitting page: its script posts the one form. */
async function runAutoSubmit(gh: RunningGatehouse, ua: UserAgent, res: Response) {
  const html = await res.text();
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(script?.includes('document.forms[0].submit()'), 'the page submits itself');
  // The browser runs the script only if the page's CSP allows exactly it.
  const hash = createHash('sha256').update(script!).digest('base64');
  assert.match(
    res.headers.get('content-security-policy') ?? '',
    new RegExp(`script-src[^;]*'sha256-${hash.replace(/[+/]/g, '\\$&')}'`),
  );
  assert.doesNotMatch(html.replace(/<noscript>[\s\S]*?<\/noscript>/, ''), /<button/, 'nothing to click');
  const fields = Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1]!, m[2]!]),
  );
  assert.equal(fields.logout, 'yes');
  return ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, { form: fields });
}

for (const backend of backends()) {
  describe(`sid in ID tokens (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('carries the session id in every ID token, the same through refreshes', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh));
      const { tokens } = await loginAndGetTokens(gh, config, { user });
      const sid = tokens.claims()!.sid;
      assert.equal(typeof sid, 'string');
      assert.ok((sid as string).length >= 16);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      assert.equal(decodeJwt(refreshed.id_token!).sid, sid);

      // Another browser session of the same user and client has its own sid.
      const other = await loginAndGetTokens(gh, config, { user });
      assert.notEqual(other.tokens.claims()!.sid, sid);
      const discovery = await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json();
      assert.ok(discovery.claims_supported.includes('sid'));
    });
  });

  describe(`logout without confirmation for a hint of this session (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    async function signedIn() {
      const user = await createUser(gh);
      const app = await createClient(gh, { post_logout_redirect_uris: [BYE] });
      const config = await discover(gh, app);
      const { ua, tokens } = await loginAndGetTokens(gh, config, { user });
      return { user, app, config, ua, tokens };
    }

    it('signs out and returns to post_logout_redirect_uri with no page to click', async () => {
      const { config, ua, tokens } = await signedIn();
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: BYE,
        state: 'bye',
      });
      const res = await ua.request(url.toString());
      assert.equal(res.status, 200);
      const done = await runAutoSubmit(gh, ua, res);
      const back = new URL(done.url);
      assert.equal(`${back.origin}${back.pathname}`, BYE);
      assert.equal(back.searchParams.get('state'), 'bye');
      assert.equal((await silentAuthorization(gh, config, ua)).searchParams.get('error'), 'login_required');
    });

    it('still asks without a hint', async () => {
      const { config, ua } = await signedIn();
      const res = await ua.request(client.buildEndSessionUrl(config, { post_logout_redirect_uri: BYE }).toString());
      const html = await res.text();
      assert.match(html, /<button[^>]*>Sign out<\/button>/);
      assert.ok((await silentAuthorization(gh, config, ua)).searchParams.get('code'), 'still signed in');
    });

    it('still asks when the hint is from another session of the same user', async () => {
      const { user, config, ua } = await signedIn();
      const elsewhere = await loginAndGetTokens(gh, config, { user });
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: elsewhere.tokens.id_token!,
        post_logout_redirect_uri: BYE,
      });
      const html = await (await ua.request(url.toString())).text();
      assert.match(html, /<button[^>]*>Sign out<\/button>/);
      assert.ok((await silentAuthorization(gh, config, ua)).searchParams.get('code'), 'still signed in');
    });

    it("still asks when the hint is another account's", async () => {
      const { app, config, ua } = await signedIn();
      const someoneElse = await loginAndGetTokens(gh, config, { user: await createUser(gh) });
      assert.equal(someoneElse.tokens.claims()!.aud, app.client_id);
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: someoneElse.tokens.id_token!,
        post_logout_redirect_uri: BYE,
      });
      const html = await (await ua.request(url.toString())).text();
      assert.match(html, /<button[^>]*>Sign out<\/button>/);
    });
  });

  describe(`LOGOUT_SKIP_CONFIRMATION_WITH_HINT=false (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend, { env: { LOGOUT_SKIP_CONFIRMATION_WITH_HINT: 'false' } });
    });
    after(async () => {
      await gh?.destroy();
    });

    it('asks even for a hint of this session', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { post_logout_redirect_uris: [BYE] }));
      const { ua, tokens } = await loginAndGetTokens(gh, config, { user });
      const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE });
      const html = await (await ua.request(url.toString())).text();
      assert.match(html, /<button[^>]*>Sign out<\/button>/);
      assert.ok(hiddenField(html, 'xsrf'));
    });
  });
}
