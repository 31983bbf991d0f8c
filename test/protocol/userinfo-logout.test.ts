import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';
import { formAction, hiddenField, type UserAgent } from '../support/user-agent.js';

const BYE = 'http://127.0.0.1:8976/bye';

/** A silent (prompt=none) authorization request in the given browser; returns the callback URL it ends at. */
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

for (const backend of backends()) {
  describe(`userinfo (${backend})`, () => {
    let gh: RunningGatehouse;
    let user: { id: string; email: string; password: string };
    let config: client.Configuration;
    before(async () => {
      gh = await startGatehouse(backend);
      user = await createUser(gh, { name: 'Ada Lovelace' });
      config = await discover(gh, await createClient(gh));
    });
    after(async () => {
      await gh?.destroy();
    });

    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ['openid', {}, ['email', 'email_verified', 'name']],
      ['openid email', { email: true, email_verified: true }, ['name']],
      ['openid profile', { name: 'Ada Lovelace' }, ['email', 'email_verified']],
      ['openid email profile', { email: true, email_verified: true, name: 'Ada Lovelace' }, []],
    ];
    for (const [scope, present, absent] of cases) {
      it(`returns the claims of scope "${scope}" and no others`, async () => {
        const { tokens } = await loginAndGetTokens(gh, config, { user, scope });
        const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
        assert.equal(info.sub, user.id);
        for (const [claim, value] of Object.entries(present)) {
          assert.equal(info[claim], claim === 'email' ? user.email : value, `${claim} for ${scope}`);
        }
        for (const claim of absent) assert.equal(info[claim], undefined, `${claim} must not be released for ${scope}`);
      });
    }

    it('reports email_verified false for an unverified address', async () => {
      const unverified = await createUser(gh, { email_verified: false });
      const { tokens } = await loginAndGetTokens(gh, config, { user: unverified, scope: 'openid email' });
      const info = await client.fetchUserInfo(config, tokens.access_token, unverified.id);
      assert.equal(info.email, unverified.email);
      assert.equal(info.email_verified, false);
    });

    it('refuses a missing or unknown access token with 401 and a Bearer challenge', async () => {
      const none = await fetch(`${gh.issuer}/userinfo`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^(Bearer|DPoP)/);
      const bogus = await fetch(`${gh.issuer}/userinfo`, { headers: { authorization: 'Bearer not-a-token' } });
      assert.equal(bogus.status, 401);
      assert.match(bogus.headers.get('www-authenticate') ?? '', /invalid_token/);
    });
  });

  describe(`RP-initiated logout (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('asks for confirmation, signs out, returns to the registered URI with state, and ends the session', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { post_logout_redirect_uris: [BYE] });
      const config = await discover(gh, app);
      const { ua } = await loginAndGetTokens(gh, config, { user });

      // Signed in: a silent request gets a code.
      const before = await silentAuthorization(gh, config, ua);
      assert.ok(before.searchParams.get('code'), `silent request while signed in: ${before}`);

      // Without an id_token_hint (one for this session skips the page: sid-logout-hint.test.ts).
      const logoutUrl = client.buildEndSessionUrl(config, { post_logout_redirect_uri: BYE, state: 'bye-state' });
      assert.equal(logoutUrl.pathname, '/logout');
      const page = await ua.request(logoutUrl.toString());
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.equal(page.headers.get('location'), null, 'no redirect before the user confirms');
      const html = await page.text();
      assert.match(html, /<button[^>]*>Sign out<\/button>/);
      const xsrf = hiddenField(html, 'xsrf');
      assert.ok(xsrf.length > 10);

      const done = await ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
        form: { xsrf, logout: 'yes' },
      });
      const back = new URL(done.url);
      assert.equal(`${back.origin}${back.pathname}`, BYE);
      assert.equal(back.searchParams.get('state'), 'bye-state');

      // Signed out: a silent request now needs a login.
      const after = await silentAuthorization(gh, config, ua);
      assert.equal(after.searchParams.get('error'), 'login_required');
      assert.equal(after.searchParams.get('code'), null);
    });

    it('refuses the logout form without its xsrf value', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { post_logout_redirect_uris: [BYE] });
      const config = await discover(gh, app);
      const { ua } = await loginAndGetTokens(gh, config, { user });
      const page = await ua.request(client.buildEndSessionUrl(config, { post_logout_redirect_uri: BYE }).toString());
      const html = await page.text();
      const res = await ua.request(new URL(formAction(html), gh.issuer).toString(), {
        form: { xsrf: 'forged', logout: 'yes' },
      });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      // Still signed in.
      const silent = await silentAuthorization(gh, config, ua);
      assert.ok(silent.searchParams.get('code'));
    });

    it('never redirects to an unregistered post_logout_redirect_uri', async () => {
      const user = await createUser(gh);
      const app = await createClient(gh, { post_logout_redirect_uris: [BYE] });
      const config = await discover(gh, app);
      const { ua, tokens } = await loginAndGetTokens(gh, config, { user });
      for (const target of ['https://attacker.example.test/bye', `${BYE}/`, `${BYE}?next=x`]) {
        const url = client.buildEndSessionUrl(config, {
          id_token_hint: tokens.id_token!,
          post_logout_redirect_uri: target,
          state: 's',
        });
        const res = await ua.request(url.toString());
        assert.equal(res.status, 400, `status for ${target}`);
        assert.equal(res.headers.get('location'), null);
        const html = await res.text();
        assert.ok(!html.includes(target), `the page does not link or post to ${target}`);
      }
    });
  });
}
