import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ACR } from '../../src/domain/authn/authentication-policy.js';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, type client, createClient, createUser, discover } from '../support/relying-party.js';
import { answerPasskey, enrolDuringSignIn, openSignIn, passkeyForm, password, redeem } from './support/passkey-flow.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';

/**
 * Passkeys over HTTP, answered by a software authenticator (the Chromium tests in
 * passkey-browser.test.ts do the same with the browser's own WebAuthn): set up during a
 * sign-in that requires MFA, then passwordless, then as the second factor after a password.
 */
const sorted = (v: string[] | undefined) => [...(v ?? [])].sort();

for (const backend of backends()) {
  describe(`passkeys: set up, passwordless, second factor (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;

    before(async () => {
      gh = await startGatehouse(backend, { env: { MFA_REQUIRED: 'true' } });
      config = await discover(gh, await createClient(gh, { first_party: true, redirect_uris: [CALLBACK] }));
    });
    after(async () => {
      await gh?.destroy();
    });

    const credentialsOf = (userId: string) =>
      gh.instance.database.db()('credentials').where({ user_id: userId, type: 'passkey' }).select('*');

    it('sets up a passkey when MFA is required, and that sign-in ends phishing-resistant', async () => {
      const user = await createUser(gh);
      const key = new SoftAuthenticator();
      const flow = await enrolDuringSignIn(gh, config, user, key, 'Work laptop');
      const claims = await redeem(config, flow);
      assert.equal(claims.sub, user.id);
      assert.equal(claims.acr, ACR.phishingResistant);
      assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'pwd', 'user']);

      const [row, ...others] = await credentialsOf(user.id);
      assert.equal(others.length, 0);
      assert.equal(row.external_id, key.id);
      assert.equal(row.name, 'Work laptop');
      const data = typeof row.public_data === 'string' ? JSON.parse(row.public_data) : row.public_data;
      assert.match(data.publicKey, /^[A-Za-z0-9_-]{40,}$/);
      assert.deepEqual(data.transports, ['internal']);
      assert.equal(data.backedUp, false);
      assert.equal(data.deviceType, 'singleDevice');
      const enrolled = await gh.admin('GET', `/admin/audit-events?type=factor.enrolled&user=${user.id}`);
      // The passkey, then the recovery codes shown once after the first second factor.
      assert.deepEqual(sorted(enrolled.body.items.map((e: { data: { factor: string } }) => e.data.factor)), [
        'passkey',
        'recovery_codes',
      ]);
    });

    it('registers with the options a passkey needs: discoverable, this RP, this user, no duplicate', async () => {
      const user = await createUser(gh);
      const key = new SoftAuthenticator();
      await enrolDuringSignIn(gh, config, user, key);
      // The account now has a passkey: a second sign-in asks for it, and a new setup would exclude it.
      const flow = await openSignIn(gh, config);
      await password(gh, flow, user);
      const form = passkeyForm(flow.step.html ?? '', 'second-factor');
      assert.deepEqual(
        form.options.allowCredentials?.map((c) => c.id),
        [key.id],
      );
      assert.equal(form.options.userVerification, 'preferred');
      assert.equal(form.options.rpId, 'localhost');
      const [row] = await credentialsOf(user.id);
      assert.match(row.name, /^Passkey \(\d{1,2} \w{3} \d{4}\)$/, 'a default name when none is given');
    });

    it('a passkey without user verification is one factor: with the password, acr mfa and amr hwk', async () => {
      const user = await createUser(gh);
      const claims = await redeem(
        config,
        await enrolDuringSignIn(gh, config, user, new SoftAuthenticator({ userVerification: false })),
      );
      assert.equal(claims.acr, ACR.mfa);
      assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'pwd']);
    });

    it('signs in without a password: discoverable passkey with user verification, phishing-resistant', async () => {
      const user = await createUser(gh);
      const key = new SoftAuthenticator();
      await enrolDuringSignIn(gh, config, user, key);

      const flow = await openSignIn(gh, config);
      const form = passkeyForm(flow.step.html ?? '', 'sign-in');
      assert.deepEqual(form.options.allowCredentials ?? [], [], 'any passkey of this site (discoverable)');
      assert.equal(form.options.userVerification, 'required');
      await answerPasskey(gh, flow, form, key);
      const claims = await redeem(config, flow);
      assert.equal(claims.sub, user.id);
      assert.equal(claims.acr, ACR.phishingResistant);
      assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'user']);
      const [row] = await credentialsOf(user.id);
      assert.equal(Number(row.counter), key.counter, 'the signature counter is stored');
      assert.ok(row.last_used_at, 'last used is recorded');
    });

    it('a synced passkey (backed up) gives amr swk', async () => {
      const user = await createUser(gh);
      const key = new SoftAuthenticator({ backedUp: true });
      await enrolDuringSignIn(gh, config, user, key);
      const flow = await openSignIn(gh, config);
      const form = passkeyForm(flow.step.html ?? '', 'sign-in');
      await answerPasskey(gh, flow, form, key);
      const claims = await redeem(config, flow);
      assert.deepEqual(sorted(claims.amr), ['mfa', 'swk', 'user']);
    });

    it('uses a passkey as the second factor after the password', async () => {
      const user = await createUser(gh);
      const key = new SoftAuthenticator();
      await enrolDuringSignIn(gh, config, user, key);

      const flow = await openSignIn(gh, config);
      await password(gh, flow, user);
      assert.match(flow.step.html ?? '', /<h1>Verify it is you<\/h1>/);
      const form = passkeyForm(flow.step.html ?? '', 'second-factor');
      assert.match(form.action, /\/login\/passkey$/);
      await answerPasskey(gh, flow, form, key);
      const claims = await redeem(config, flow);
      assert.equal(claims.sub, user.id);
      assert.equal(claims.acr, ACR.phishingResistant);
      assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'pwd', 'user']);
    });

    it('a request for phishing resistance makes the second-factor passkey verify the person', async () => {
      const user = await createUser(gh);
      const key = new SoftAuthenticator({ userVerification: false });
      await enrolDuringSignIn(gh, config, user, key);

      const flow = await openSignIn(gh, config, { acr_values: ACR.phishingResistant });
      await password(gh, flow, user);
      const form = passkeyForm(flow.step.html ?? '', 'second-factor');
      assert.equal(form.options.userVerification, 'required', 'the options ask the device to verify the person');
      await answerPasskey(gh, flow, form, key);
      assert.equal(flow.step.res.status, 401, 'a passkey that did not verify the person is refused at once');
      assert.match(flow.step.html ?? '', /did not confirm it is you/);
    });
  });
}
