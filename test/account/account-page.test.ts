import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, codeFlow, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';
import {
  auditEvents,
  formsWithButton,
  linkHref,
  openAccount,
  passwordSignIn,
  startAccountGatehouse,
  submit,
} from './account-agent.js';

/** A prompt=none request in `ua`'s browser: what the relying party gets back without any page. */
async function silentAuthorization(gh: RunningGatehouse, config: client.Configuration, ua: UserAgent) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    prompt: 'none',
    state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const step = await ua.follow(url.toString(), gh.issuer);
  assert.ok(step.url.startsWith(CALLBACK), `prompt=none answers at the callback: ${step.url}`);
  return new URL(step.url).searchParams;
}

for (const backend of backends()) {
  describe(`the account page (${backend})`, () => {
    let gh: RunningGatehouse;
    const clock = { offsetMs: 0 };

    before(async () => {
      gh = await startAccountGatehouse(backend, clock);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('sends a visitor through the normal sign-in and back to /account, without a consent page', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const first = await ua.request(`${gh.issuer}/account`);
      assert.equal(first.status, 303);
      const authorize = new URL(first.headers.get('location')!, gh.issuer);
      assert.equal(authorize.pathname, '/authorize');
      assert.equal(authorize.searchParams.get('client_id'), 'gatehouse-account');
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');

      const login = await ua.follow(authorize.toString(), gh.issuer);
      assert.match(login.html ?? '', /<h1>Sign in to your account<\/h1>/);
      const page = await passwordSignIn(gh, ua, login.html!, user);
      assert.equal(page.url, `${gh.issuer}/account`);
      assert.equal(page.res.status, 200);
      assert.match(page.html!, /<h1>Your account<\/h1>/);
      assert.ok(page.html!.includes(user.email));
      assert.doesNotMatch(page.html!, /Allow access/);
      assert.match(page.res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.doesNotMatch(page.html!, /<script/, 'no script on the account page');

      // Signed in now: the page opens directly.
      const again = await ua.request(`${gh.issuer}/account`);
      assert.equal(again.status, 200);
    });

    it('refuses a callback it did not start, with a way back', async () => {
      const ua = new UserAgent();
      const res = await ua.request(`${gh.issuer}/account/callback?code=x&state=y`);
      assert.equal(res.status, 400);
      const html = await res.text();
      assert.match(html, /href="\/account">Back to your account</);
    });

    it('a cancelled sign-in says so and offers the way back', async () => {
      const ua = new UserAgent();
      const login = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      const [cancel] = formsWithButton(login.html!, 'Cancel');
      const out = await submit(gh, ua, cancel!);
      assert.equal(out.res.status, 403);
      assert.match(out.html!, /you cancelled the sign-in/);
      assert.match(out.html!, /Back to your account/);
    });

    it('lists the sessions, marks this one, and "Sign out" ends another (its prompt=none gets login_required)', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { client_name: 'Laptop App' }));
      const elsewhere = await codeFlow(gh, config, { user, scope: 'openid' });
      assert.equal((await silentAuthorization(gh, config, elsewhere.ua)).get('error'), null, 'signed in elsewhere');

      const ua = new UserAgent();
      const page = await openAccount(gh, ua, user);
      const sessions = page.html!.slice(page.html!.indexOf('aria-label="Sessions"'));
      assert.equal(formsWithButton(sessions, 'Sign out').length, 2, 'two sessions, each with "Sign out"');
      assert.equal((page.html!.match(/This device/g) ?? []).length, 1);
      assert.match(page.html!, /Used with Laptop App/);

      // The session listed after "This device" is the other browser's.
      const other = formsWithButton(sessions, 'Sign out')[1]!;
      const after = await submit(gh, ua, other);
      assert.equal(after.url, `${gh.issuer}/account?done=session-ended`);
      assert.match(after.html!, /That session is signed out\./);
      assert.equal(formsWithButton(after.html!, 'Sign out').length, 1, 'one session left');

      assert.equal((await silentAuthorization(gh, config, elsewhere.ua)).get('error'), 'login_required');
      assert.equal((await ua.request(`${gh.issuer}/account`)).status, 200, 'this browser stays signed in');
      const [event] = await auditEvents(gh, 'session.revoked', user.id);
      assert.equal(event?.actor, `user:${user.id}`, 'audited as done by the person');
    });

    it('"Sign out" of this session signs this browser out', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const page = await openAccount(gh, ua, user);
      const [mine] = formsWithButton(page.html!, 'Sign out');
      const out = await submit(gh, ua, mine!);
      assert.match(out.html!, /<h1>Signed out<\/h1>/);
      const next = await ua.request(`${gh.issuer}/account`);
      assert.equal(next.status, 303, 'the next visit signs in again');
      assert.match(next.headers.get('location')!, /^\/authorize\?/);
    });

    it('"Remove access" revokes the app\'s grant: its refresh token fails with invalid_grant', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { client_name: 'Notes App' }));
      const flow = await codeFlow(gh, config, { user });
      const tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      });
      assert.ok(tokens.refresh_token);

      const ua = new UserAgent();
      const page = await openAccount(gh, ua, user);
      assert.match(page.html!, /<strong>Notes App<\/strong>/);
      assert.match(page.html!, /See your email address/);
      const [remove] = formsWithButton(page.html!, 'Remove access');
      const after = await submit(gh, ua, remove!);
      assert.equal(after.url, `${gh.issuer}/account?done=access-removed`);
      const apps = after.html!.slice(after.html!.indexOf('id="apps-heading"'));
      assert.doesNotMatch(apps, /Notes App/);
      assert.match(after.html!, /No app has access to your account\./);

      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token!), (err: unknown) => {
        assert.equal((err as { error?: string }).error, 'invalid_grant');
        return true;
      });
      const [event] = await auditEvents(gh, 'grant.revoked_by_user', user.id);
      assert.equal(event?.client_id, config.clientMetadata().client_id);
    });

    it('refuses a form without its CSRF token, or with one from another session', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const page = await openAccount(gh, ua, user);
      const [signOut] = formsWithButton(page.html!, 'Sign out');
      const bare = await ua.request(new URL(signOut!.action, gh.issuer).toString(), { form: {} });
      assert.equal(bare.status, 403);
      assert.match(await bare.text(), /Back to your account/);

      const otherUa = new UserAgent();
      const otherPage = await openAccount(gh, otherUa, user);
      const [foreign] = formsWithButton(otherPage.html!, 'Sign out');
      const crossed = await ua.request(new URL(signOut!.action, gh.issuer).toString(), {
        form: { csrf: foreign!.fields.csrf! },
      });
      assert.equal(crossed.status, 403, "another session's token does not count here");
      assert.equal((await ua.request(`${gh.issuer}/account`)).status, 200, 'nothing was signed out');
    });

    it('a change after more than five minutes asks to sign in again, then goes through', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      const loginAt = async () => (await gh.admin('GET', `/admin/users/${user.id}/sessions`)).body.items[0].login_at;
      const before = await loginAt();
      clock.offsetMs = 6 * 60_000;
      try {
        // Changes need the recent sign-in; looking at the page does not.
        assert.equal((await ua.request(`${gh.issuer}/account`)).status, 200);
        const gated = await ua.request(`${gh.issuer}/account/enrol/totp`);
        assert.equal(gated.status, 303);
        assert.equal(gated.headers.get('location'), '/account/reauthenticate?return=%2Faccount%2Fenrol%2Ftotp');
        const confirm = await ua.follow(new URL(gated.headers.get('location')!, gh.issuer).toString(), gh.issuer);
        assert.match(confirm.html!, /<h1>Confirm it is you<\/h1>/);
        assert.equal(linkHref(confirm.html!, 'Back to your account'), '/account');

        const start = await ua.request(new URL(linkHref(confirm.html!, 'Sign in again'), gh.issuer).toString());
        const authorize = new URL(start.headers.get('location')!, gh.issuer);
        assert.equal(authorize.searchParams.get('prompt'), 'login');
        assert.equal(authorize.searchParams.get('login_hint'), user.email);
        const login = await ua.follow(authorize.toString(), gh.issuer);
        assert.ok(login.html?.includes('name="password"'), 'the password is asked although a session exists');
        // The provider stamps sign-ins in whole seconds: a new second shows this one is new.
        while (Math.floor(Date.now() / 1000) <= Date.parse(before) / 1000) await new Promise((r) => setTimeout(r, 50));
        // Signing in again happens "now" for the provider; the page's clock and the provider's agree again.
        clock.offsetMs = 0;
        const back = await passwordSignIn(gh, ua, login.html!, user);
        assert.equal(back.url, `${gh.issuer}/account/enrol/totp`, 'back where the change was asked for');
        assert.match(back.html!, /<h1>Set up authenticator app<\/h1>/);
        assert.ok(Date.parse(await loginAt()) > Date.parse(before), 'the session records the new sign-in');
        const now = await ua.request(`${gh.issuer}/account/enrol/totp`);
        assert.notEqual(now.headers.get('location'), gated.headers.get('location'), 'recent now: no detour');
      } finally {
        clock.offsetMs = 0;
      }
    });
  });
}
