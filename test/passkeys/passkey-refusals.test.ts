import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, type client, createClient, createUser, discover } from '../support/relying-party.js';
import {
  alertText,
  answerPasskey,
  enrolDuringSignIn,
  type Flow,
  openSignIn,
  passkeyForm,
  password,
  post,
  redeem,
} from './support/passkey-flow.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

/**
 * What a passkey sign-in refuses: a challenge answered twice or for another interaction, a
 * signature counter that does not move forward (a cloned key), passwordless without user
 * verification, an answer made for another origin, another account's passkey as a second
 * factor, a disabled account, and input that is not a WebAuthn response.
 */
const EXPIRED = 'The passkey request expired. Try again.';
const NOT_VERIFIED = 'Your passkey could not be verified. Try again, or sign in another way.';

for (const backend of backends()) {
  describe(`passkeys: refusals (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    let clientId: string;

    before(async () => {
      gh = await startGatehouse(backend, { env: { MFA_REQUIRED: 'true' } });
      const registered = await createClient(gh, { first_party: true, redirect_uris: [CALLBACK] });
      clientId = registered.client_id;
      config = await discover(gh, registered);
    });
    after(async () => {
      await gh?.destroy();
    });

    /** A user with one passkey, set up during a sign-in. */
    async function userWithPasskey(key = new SoftAuthenticator()) {
      const user = await createUser(gh);
      await enrolDuringSignIn(gh, config, user, key);
      return { user, key };
    }

    /** POSTs without following the redirect, as a replaying attacker with the same cookies would. */
    async function postOnce(flow: Flow, action: string, form: Record<string, string>) {
      const res = await flow.ua.request(new URL(action, gh.issuer).toString(), { form });
      return { status: res.status, location: res.headers.get('location'), html: await res.text() };
    }

    async function auditEvents(type: string, userId: string) {
      const res = await gh.admin('GET', `/admin/audit-events?type=${type}&user=${userId}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.items as Array<{ subject: string; data: Record<string, unknown> }>;
    }

    /** Passwordless with `key` (answering `override`), following to the next page or the callback. */
    async function passwordless(key: SoftAuthenticator, override: { counter?: number; origin?: string } = {}) {
      const flow = await openSignIn(gh, config);
      const form = passkeyForm(flow.step.html ?? '', 'sign-in');
      const response = key.authenticate(form.options, override.origin ?? gh.issuer, override);
      await post(gh, flow, form.action, { csrf: form.csrf, credential: JSON.stringify(response) });
      return flow;
    }

    it('takes a challenge once: the same answer again, or in another interaction, is refused', async () => {
      const { user, key } = await userWithPasskey();
      const flow = await openSignIn(gh, config);
      const form = passkeyForm(flow.step.html ?? '', 'sign-in');
      const fields = { csrf: form.csrf, credential: JSON.stringify(key.authenticate(form.options, gh.issuer)) };

      const first = await postOnce(flow, form.action, fields);
      assert.equal(first.status, 303, first.html.slice(0, 300));
      const replay = await postOnce(flow, form.action, fields);
      assert.equal(replay.status, 400);
      assert.equal(alertText(replay.html), EXPIRED);

      // A new interaction has its own challenge: the captured answer does not fit it.
      const other = await openSignIn(gh, config);
      const otherForm = passkeyForm(other.step.html ?? '', 'sign-in');
      const moved = await postOnce(other, otherForm.action, { ...fields, csrf: otherForm.csrf });
      assert.equal(moved.status, 401);
      assert.equal(alertText(moved.html), NOT_VERIFIED);

      // The replay names no account (the challenge is checked before the passkey is looked up).
      const failures = await gh.admin('GET', `/admin/audit-events?type=login.failed&client=${clientId}`);
      const reasons = (failures.body.items as Array<{ subject: string | null; data: { reason: string } }>)
        .filter((e) => e.subject === user.id || e.subject === null)
        .map((e) => e.data.reason);
      assert.ok(reasons.includes('challenge_expired'), reasons.join());
      assert.deepEqual(
        (await auditEvents('login.failed', user.id)).map((e) => e.data.reason),
        ['invalid_passkey'],
      );
    });

    it('refuses a signature counter that does not move forward, and audits it', async () => {
      const { user, key } = await userWithPasskey();
      const [row] = await gh.instance.database.db()('credentials').where({ user_id: user.id, type: 'passkey' });
      assert.ok(row);

      await redeem(config, await passwordless(key, { counter: 10 }));
      for (const counter of [5, 10]) {
        const flow = await passwordless(key, { counter });
        assert.equal(flow.step.res.status, 401, `counter ${counter}`);
        assert.equal(alertText(flow.step.html), NOT_VERIFIED);
        assert.ok(passkeyForm(flow.step.html ?? '', 'sign-in'), 'the page offers the passkey again');
      }
      const stored = await gh.instance.database.db()('credentials').where({ id: row.id }).first();
      assert.equal(Number(stored.counter), 10, 'a refused counter is not stored');

      const regressions = await auditEvents('passkey.counter_regression', user.id);
      assert.equal(regressions.length, 2);
      for (const e of regressions) assert.deepEqual(e.data, { credential_id: row.id });
      // The genuine authenticator, further along, still signs in.
      await redeem(config, await passwordless(key, { counter: 11 }));
    });

    it('passwordless needs user verification', async () => {
      const { user, key } = await userWithPasskey(new SoftAuthenticator({ userVerification: false }));
      const flow = await passwordless(key);
      assert.equal(flow.step.res.status, 401);
      assert.equal(alertText(flow.step.html), 'Your device did not confirm it is you. Try again.');
      assert.deepEqual(
        (await auditEvents('login.failed', user.id)).map((e) => e.data.reason),
        ['user_not_verified'],
      );
    });

    it('refuses an answer made for another origin (a phishing page relaying the challenge)', async () => {
      const { key } = await userWithPasskey();
      const flow = await passwordless(key, { origin: 'https://gatehouse.example.net' });
      assert.equal(flow.step.res.status, 401);
      assert.equal(alertText(flow.step.html), NOT_VERIFIED);
    });

    it("refuses another account's passkey as the second factor", async () => {
      const { user } = await userWithPasskey();
      const { key: someoneElses } = await userWithPasskey();
      const flow = await openSignIn(gh, config);
      await password(gh, flow, user);
      const form = passkeyForm(flow.step.html ?? '', 'second-factor');
      await answerPasskey(gh, flow, form, someoneElses);
      assert.equal(flow.step.res.status, 401);
      assert.equal(alertText(flow.step.html), 'This passkey is not registered for an account here.');
      assert.ok(passkeyForm(flow.step.html ?? '', 'second-factor'), 'the second-factor page is shown again');
    });

    it('refuses a disabled account, an unknown passkey, and a field that is not a WebAuthn response', async () => {
      const { user, key } = await userWithPasskey();
      assert.equal((await gh.admin('PATCH', `/admin/users/${user.id}`, { disabled: true })).status, 200);
      const disabled = await passwordless(key);
      assert.equal(disabled.step.res.status, 401);
      assert.equal(alertText(disabled.step.html), NOT_VERIFIED);

      const unknown = await passwordless(new SoftAuthenticator());
      assert.equal(unknown.step.res.status, 401);
      assert.equal(alertText(unknown.step.html), 'This passkey is not registered for an account here.');

      for (const credential of ['', 'not json', '{"id":"x"}', JSON.stringify({ ...key, id: 'a b' })]) {
        const flow = await openSignIn(gh, config);
        const form = passkeyForm(flow.step.html ?? '', 'sign-in');
        await post(gh, flow, form.action, { csrf: form.csrf, credential });
        assert.equal(flow.step.res.status, 400, credential);
        assert.equal(alertText(flow.step.html), NOT_VERIFIED);
      }
    });
  });
}
