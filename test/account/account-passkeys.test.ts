import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { passkeyForm } from '../passkeys/support/passkey-flow.js';
import { SoftAuthenticator } from '../passkeys/support/soft-authenticator.js';
import { backends } from '../support/backends.js';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { createUser } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';
import {
  auditEvents,
  formsWithButton,
  openAccount,
  passwordSignIn,
  startAccountGatehouse,
  submit,
} from './account-agent.js';

type User = { id: string; email: string; password: string };

/** The Passkeys list of the account page, one entry per passkey: its text and its "Remove" form. */
function passkeysOn(html: string) {
  const list = /<ul class="items" aria-label="Passkeys">([\s\S]*?)<\/ul>/.exec(html);
  assert.ok(list, 'a list named "Passkeys"');
  return [...list[1]!.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => ({
    text: m[1]!
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
    remove: formsWithButton(m[1]!, 'Remove')[0],
  }));
}

/** "Add a passkey" on /account, answered by `key`; returns the page the answer led to. */
async function addPasskey(gh: RunningGatehouse, ua: UserAgent, user: User, key: SoftAuthenticator, name: string) {
  const account = await openAccount(gh, ua, user);
  const [add] = formsWithButton(account.html!, 'Add a passkey');
  const page = await submit(gh, ua, add!);
  assert.equal(page.url, `${gh.issuer}/account/enrol/passkey`);
  assert.match(page.res.headers.get('content-security-policy') ?? '', /script-src 'self'/, 'our script may run');
  const form = passkeyForm(page.html!, 'register');
  const credential = JSON.stringify(key.register(form.options, gh.issuer));
  return ua.follow(new URL(form.action, gh.issuer).toString(), gh.issuer, {
    form: { csrf: form.csrf, credential, name },
  });
}

for (const backend of backends()) {
  describe(`passkeys on the account page (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startAccountGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('"Add a passkey": listed by name with created and last used, each with "Remove"', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const key = new SoftAuthenticator();
      const added = await addPasskey(gh, ua, user, key, 'Work laptop');
      assert.match(added.html!, /<h1>Save your recovery codes<\/h1>/, 'the first factor comes with recovery codes');
      assert.match(added.html!, /Passkey added\./);

      const page = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      const [listed] = passkeysOn(page.html!);
      assert.match(listed!.text, /^Work laptop Created \d{1,2} \w{3} \d{4}, \d{2}:\d{2} UTC · Last used never/);
      assert.ok(listed!.remove, '"Remove" beside it');
      const [enrolled] = await auditEvents(gh, 'factor.enrolled', user.id);
      assert.equal(enrolled?.actor, `user:${user.id}`);

      // A second one: recovery codes exist already, so straight back to the list.
      const second = await addPasskey(gh, ua, user, new SoftAuthenticator(), 'Phone');
      assert.equal(second.url, `${gh.issuer}/account?done=passkey-added`);
      assert.deepEqual(
        passkeysOn(second.html!).map((p) => p.text.split(' Created')[0]),
        ['Work laptop', 'Phone'],
      );
    });

    it('"Last used" shows the sign-in that used the passkey', async () => {
      const user = await createUser(gh);
      const key = new SoftAuthenticator();
      await addPasskey(gh, new UserAgent(), user, key, 'Key');

      const ua = new UserAgent();
      const login = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      const second = await passwordSignIn(gh, ua, login.html!, user);
      const form = passkeyForm(second.html!, 'second-factor');
      const page = await ua.follow(new URL(form.action, gh.issuer).toString(), gh.issuer, {
        form: { csrf: form.csrf, credential: JSON.stringify(key.authenticate(form.options, gh.issuer)) },
      });
      assert.equal(page.url, `${gh.issuer}/account`);
      const [listed] = passkeysOn(page.html!);
      assert.doesNotMatch(listed!.text, /Last used never/);
      assert.match(listed!.text, /Last used \d{1,2} \w{3} \d{4}/);
    });

    it('"Remove" takes the passkey off the account, audited as the person\'s', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      await addPasskey(gh, ua, user, new SoftAuthenticator(), 'Old key');
      const page = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      const [listed] = passkeysOn(page.html!);
      const after = await submit(gh, ua, listed!.remove!);
      assert.equal(after.url, `${gh.issuer}/account?done=passkey-removed`);
      assert.match(after.html!, /Passkey removed\./);
      assert.deepEqual(passkeysOn(after.html!), []);
      assert.match(after.html!, /You have no passkeys\./);
      const [removed] = await auditEvents(gh, 'factor.removed', user.id);
      assert.equal(removed?.actor, `user:${user.id}`);
      assert.equal(removed?.data?.factor, 'passkey');
    });

    it('a setup started in one browser cannot be finished from another session', async () => {
      const user = await createUser(gh);
      const first = new UserAgent();
      const account = await openAccount(gh, first, user);
      const page = await submit(gh, first, formsWithButton(account.html!, 'Add a passkey')[0]!);
      const started = passkeyForm(page.html!, 'register');

      const other = new UserAgent();
      const otherAccount = await openAccount(gh, other, user);
      const otherPage = await submit(gh, other, formsWithButton(otherAccount.html!, 'Add a passkey')[0]!);
      const otherCsrf = passkeyForm(otherPage.html!, 'register').csrf;
      // The other session's own form, with the answer to the first session's challenge.
      const answer = JSON.stringify(new SoftAuthenticator().register(started.options, gh.issuer));
      const refused = await other.follow(`${gh.issuer}/account/enrol/passkey`, gh.issuer, {
        form: { csrf: otherCsrf, credential: answer, name: 'Stolen' },
      });
      assert.ok(refused.res.status >= 400 && refused.res.status < 500, `refused: ${refused.res.status}`);
      const list = await other.follow(`${gh.issuer}/account`, gh.issuer);
      assert.deepEqual(passkeysOn(list.html!), [], 'nothing was added');
    });
  });
}
