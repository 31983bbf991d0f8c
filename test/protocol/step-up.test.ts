import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  type AuthorizationRequest,
  CALLBACK,
  type client,
  createClient,
  createUser,
  discover,
  loginAndGetTokens,
  redeemCode,
  startAuthorization,
} from '../support/relying-party.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';
import { appCode, linkTo, recoveryCodesOf, SignIn, setupKeyOf } from '../mfa/mfa-flow.js';

const ACR = {
  password: 'urn:gatehouse:acr:password',
  mfa: 'urn:gatehouse:acr:mfa',
  phishingResistant: 'urn:gatehouse:acr:phishing-resistant',
};
const ENROL_TITLE = 'Set up two-step verification';

/** One authorization request in the browser `ua`: where it ends (a page, or the callback) and what to redeem it with. */
async function authorize(gh: RunningGatehouse, config: client.Configuration, ua: UserAgent, extra = {}) {
  const { step, ...request } = await startAuthorization(gh, config, { scope: 'openid', ...extra }, ua);
  return { ...step, request };
}

/** The callback's code exchanged for tokens; the ID token's claims. */
async function idTokenAt(config: client.Configuration, callback: string, request: AuthorizationRequest) {
  assert.ok(callback.startsWith(CALLBACK), `the request ends at the callback: ${callback}`);
  const tokens = await redeemCode(config, new URL(callback), request);
  return tokens.claims()!;
}

/** The login page's form, filled in and sent. */
function submitPassword(gh: RunningGatehouse, ua: UserAgent, html: string, user: { email: string; password: string }) {
  return ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
    form: { csrf: hiddenField(html, 'csrf'), email: user.email, password: user.password },
  });
}

/** The enrolment page: the step-up asks for a second factor the account does not have yet (and no password again). */
function assertEnrolPage(step: { res: Response; url: string; html?: string }) {
  assert.equal(step.res.status, 200, step.url);
  assert.match(step.html ?? '', new RegExp(`<h1>${ENROL_TITLE}</h1>`), step.html?.slice(0, 800));
  assert.doesNotMatch(step.html!, /name="password"/, 'the password is not asked for again');
}

for (const backend of backends()) {
  describe(`step-up: acr_values, essential acr, client requirements, max_age (${backend})`, () => {
    let gh: RunningGatehouse;
    let app: { client_id: string; client_secret?: string };
    let config: client.Configuration;

    before(async () => {
      gh = await startGatehouse(backend);
      app = await createClient(gh, { first_party: true });
      config = await discover(gh, app as { client_id: string; client_secret: string });
    });
    after(async () => {
      await gh?.destroy();
    });

    /** A fresh browser with a password-only session (acr password, amr pwd). */
    async function passwordSession() {
      const user = await createUser(gh);
      const { ua, tokens } = await loginAndGetTokens(gh, config, { user, scope: 'openid' });
      const claims = tokens.claims()!;
      assert.equal(claims.acr, ACR.password);
      assert.deepEqual(claims.amr, ['pwd']);
      return { ua, user, claims };
    }

    it('lists the three acr values in discovery, and the claims parameter', async () => {
      const meta = config.serverMetadata();
      assert.deepEqual(meta.acr_values_supported, [ACR.password, ACR.mfa, ACR.phishingResistant]);
      assert.equal(meta.claims_parameter_supported, true);
    });

    it('reuses the session when the request asks for nothing more (prompt=none works)', async () => {
      const { ua, claims } = await passwordSession();
      for (const extra of [{}, { acr_values: ACR.password }, { acr_values: 'urn:example:unknown' }]) {
        const step = await authorize(gh, config, ua, { prompt: 'none', ...extra });
        const again = await idTokenAt(config, step.url, step.request);
        assert.equal(again.sub, claims.sub);
        assert.equal(again.acr, ACR.password, JSON.stringify(extra));
        assert.equal(again.auth_time, claims.auth_time, 'no new sign-in');
      }
    });

    it('asks for the second factor when acr_values asks for mfa: enrolment for an account without one', async () => {
      const { ua } = await passwordSession();
      assertEnrolPage(await authorize(gh, config, ua, { acr_values: ACR.mfa }));
    });

    it('takes the weakest known of several acr_values', async () => {
      const { ua } = await passwordSession();
      const both = await authorize(gh, config, ua, { prompt: 'none', acr_values: `${ACR.mfa} ${ACR.password}` });
      assert.equal((await idTokenAt(config, both.url, both.request)).acr, ACR.password);
      assertEnrolPage(await authorize(gh, config, ua, { acr_values: `urn:example:unknown ${ACR.phishingResistant}` }));
    });

    it('answers login_required to a silent request for more than the session has', async () => {
      const { ua } = await passwordSession();
      const step = await authorize(gh, config, ua, { prompt: 'none', acr_values: ACR.mfa });
      assert.ok(step.url.startsWith(CALLBACK), step.url);
      assert.equal(new URL(step.url).searchParams.get('error'), 'login_required');
    });

    it('steps up for an essential acr claim (claims parameter); a voluntary one asks for nothing', async () => {
      const { ua } = await passwordSession();
      const essential = JSON.stringify({ id_token: { acr: { essential: true, value: ACR.mfa } } });
      assertEnrolPage(await authorize(gh, config, ua, { claims: essential }));
      const values = JSON.stringify({
        id_token: { acr: { essential: true, values: [ACR.phishingResistant, ACR.mfa] } },
      });
      assertEnrolPage(await authorize(gh, config, ua, { claims: values }));
      const voluntary = JSON.stringify({ id_token: { acr: { value: ACR.mfa } } });
      const step = await authorize(gh, config, ua, { prompt: 'none', claims: voluntary });
      assert.equal((await idTokenAt(config, step.url, step.request)).acr, ACR.password);
    });

    it('steps up a password session for a client with require_mfa or require_phishing_resistant', async () => {
      const { ua, claims } = await passwordSession();
      for (const setting of ['require_mfa', 'require_phishing_resistant'] as const) {
        const strict = await createClient(gh, { first_party: true, [setting]: true });
        assert.equal((await gh.admin('GET', `/admin/clients/${strict.client_id}`)).body[setting], true);
        const strictConfig = await discover(gh, strict as { client_id: string; client_secret: string });
        const step = await authorize(gh, strictConfig, ua);
        assertEnrolPage(step);
        // Phishing resistance needs a passkey; an authenticator app would not do.
        const offersApp = /Set up authenticator app/.test(step.html!);
        assert.equal(offersApp, setting === 'require_mfa', setting);
        assert.match(step.html!, /Add a passkey/);

        // Turned off again, the same session is enough (a first-party app: consent is given without a page).
        const patched = await gh.admin('PATCH', `/admin/clients/${strict.client_id}`, { [setting]: false });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        assert.equal(patched.body[setting], false);
        const reused = await authorize(gh, strictConfig, ua);
        const again = await idTokenAt(strictConfig, reused.url, reused.request);
        assert.equal(again.acr, ACR.password);
        assert.equal(again.auth_time, claims.auth_time, 'no new sign-in');
      }
    });

    it('refuses require_mfa and require_phishing_resistant that are not booleans; absent means false', async () => {
      for (const setting of ['require_mfa', 'require_phishing_resistant']) {
        const res = await gh.admin('POST', '/admin/clients', { redirect_uris: [CALLBACK], [setting]: 'yes' });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(JSON.stringify(res.body), new RegExp(setting));
      }
      const plain = await gh.admin('GET', `/admin/clients/${app.client_id}`);
      assert.equal(plain.body.require_mfa, undefined);
      assert.equal(plain.body.require_phishing_resistant, undefined);
    });

    it('lists claims asked for with the claims parameter on the consent page; returns them once allowed', async () => {
      const thirdParty = await createClient(gh);
      const thirdConfig = await discover(gh, thirdParty as { client_id: string; client_secret: string });
      const user = await createUser(gh);
      const ua = new UserAgent();
      const claims = JSON.stringify({ id_token: { email: null, acr: { essential: true, value: ACR.password } } });
      const login = await authorize(gh, thirdConfig, ua, { claims });
      const consent = await submitPassword(gh, ua, login.html!, user);
      assert.match(consent.html ?? '', /See your email address/);
      const done = await ua.follow(new URL(formAction(consent.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(consent.html!, 'csrf'), decision: 'allow' },
      });
      const idToken = await idTokenAt(thirdConfig, done.url, login.request);
      assert.equal(idToken.email, user.email);
      assert.equal(idToken.acr, ACR.password);
    });

    it('asks a new sign-in for a client with require_mfa for a second factor after the password', async () => {
      const strict = await createClient(gh, { first_party: true, require_mfa: true });
      const strictConfig = await discover(gh, strict as { client_id: string; client_secret: string });
      const user = await createUser(gh);
      const ua = new UserAgent();
      const page = await authorize(gh, strictConfig, ua);
      assert.match(page.html ?? '', /name="password"/);
      assertEnrolPage(await submitPassword(gh, ua, page.html!, user));
    });

    it('steps a password session up with the authenticator code only: acr mfa, amr pwd otp mfa', async () => {
      const user = await createUser(gh);
      // One browser signs in with the password (the account has no second factor yet).
      const browser = new SignIn(gh, config);
      const first = (await browser.finish(await browser.password(user))).claims()!;
      assert.equal(first.acr, ACR.password);

      // Elsewhere, a request for mfa sets up the authenticator app after the password.
      const other = new SignIn(gh, config);
      const choice = await other.submit(await other.open({ acr_values: ACR.mfa }), {
        email: user.email,
        password: user.password,
      });
      assertEnrolPage(choice);
      const enrol = await other.get(linkTo(choice.html, 'Set up authenticator app'));
      const secret = setupKeyOf(enrol.html);
      const codes = await other.submit(enrol, { code: await appCode(secret) });
      assert.equal(recoveryCodesOf(codes.html).length, 10);
      assert.equal((await other.finish(await other.submit(codes, {}))).claims()!.acr, ACR.mfa);

      // The first browser's password session, asked for mfa: the code page only, no password.
      const ask = await browser.open({ acr_values: ACR.mfa });
      assert.equal(ask.res.status, 200, ask.html.slice(0, 300));
      assert.match(ask.html, /<label for="code">Authentication code<\/label>/);
      assert.doesNotMatch(ask.html, /name="password"/);
      assert.doesNotMatch(ask.html, new RegExp(ENROL_TITLE));
      // The app's next code: the one that turned it on was used already.
      const stepped = (await browser.finish(await browser.submit(ask, { code: await appCode(secret, 1) }))).claims()!;
      assert.equal(stepped.sub, first.sub);
      assert.equal(stepped.acr, ACR.mfa);
      for (const v of ['pwd', 'otp', 'mfa']) assert.ok((stepped.amr as string[]).includes(v), `amr ${stepped.amr}`);
      assert.ok((stepped.auth_time as number) >= (first.auth_time as number));

      // The stronger session is reused without a page, also for weaker or equal requests.
      const essentialPassword = JSON.stringify({ id_token: { acr: { essential: true, value: ACR.password } } });
      const requests: Record<string, string>[] = [
        {},
        { acr_values: ACR.mfa },
        { acr_values: ACR.password },
        { claims: essentialPassword },
      ];
      for (const extra of requests) {
        const silent = (await browser.finish(await browser.open({ prompt: 'none', ...extra }))).claims()!;
        assert.equal(silent.acr, ACR.mfa, JSON.stringify(extra));
        assert.equal(silent.auth_time, stepped.auth_time, 'no new sign-in');
      }

      // Phishing resistance needs a passkey the account does not have: set one up, no password, no code.
      const passkey = await browser.open({ acr_values: ACR.phishingResistant });
      assertEnrolPage(passkey);
      assert.doesNotMatch(passkey.html, /Set up authenticator app|Authentication code/);
    });

    it('signs in again for max_age: a new auth_time, the password asked for again', async () => {
      const { ua, user, claims } = await passwordSession();
      // max_age=0 is passed once the clock is past the sign-in's second (auth_time has one-second steps).
      while (Math.floor(Date.now() / 1000) <= (claims.auth_time as number)) await sleep(50);
      const page = await authorize(gh, config, ua, { max_age: '0' });
      assert.match(page.html ?? '', /name="password"/, 'the password is asked for');
      const done = await submitPassword(gh, ua, page.html!, user);
      const again = await idTokenAt(config, done.url, page.request);
      assert.equal(again.sub, claims.sub);
      assert.ok((again.auth_time as number) > (claims.auth_time as number), 'auth_time moved forward');
    });
  });
}
