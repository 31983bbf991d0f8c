import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  auditEvents,
  formsWithButton,
  openAccount,
  passwordSignIn,
  startAccountGatehouse,
  submit,
} from '../account/account-agent.js';
import { backends } from '../support/backends.js';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover, loginAndGetTokens } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';
import { linkIn, mailTo } from '../support/mailbox.js';

const NEW_PASSWORD = 'a brand new passphrase for testing';

/** Opens one of the account's pages (signed in as `user` in `ua`) and returns the form with `button`. */
async function formOn(gh: RunningGatehouse, ua: UserAgent, path: string, button: string) {
  const page = await ua.follow(`${gh.issuer}${path}`, gh.issuer);
  assert.equal(page.res.status, 200, `${path}: ${page.url}`);
  const [form] = formsWithButton(page.html!, button);
  assert.ok(form, `a "${button}" button on ${path}`);
  return { page, form };
}

const signedIn = async (gh: RunningGatehouse, ua: UserAgent) => (await ua.request(`${gh.issuer}/account`)).status;

for (const backend of backends()) {
  describe(`account changes: password, email, deletion (${backend})`, () => {
    let gh: RunningGatehouse;
    const clock = { offsetMs: 0 };

    before(async () => {
      gh = await startAccountGatehouse(backend, clock);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('"Change password" needs the current password and applies the password policy', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const home = await openAccount(gh, ua, user);
      assert.match(home.html!, /href="\/account\/password">Change password</);
      const { page, form } = await formOn(gh, ua, '/account/password', 'Change password');
      assert.match(page.html!, /<label for="current-password">Current password<\/label>/);
      assert.match(page.html!, /<label for="new-password">New password<\/label>/);
      assert.match(page.html!, /Sign out of other sessions<\/label>/);

      const wrong = await submit(gh, ua, form, {
        current_password: 'not my password at all',
        new_password: NEW_PASSWORD,
      });
      assert.equal(wrong.res.status, 400);
      assert.match(wrong.html!, /The current password is wrong/);
      assert.match(wrong.html!, /Back to your account/);

      const short = await submit(gh, ua, form, { current_password: user.password, new_password: 'short' });
      assert.equal(short.res.status, 400);
      assert.match(short.html!, /Password must be at least \d+ characters\./);

      // Nothing changed: the old password still signs in.
      assert.equal((await openAccount(gh, new UserAgent(), user)).url, `${gh.issuer}/account`);
      assert.equal((await mailTo(gh, user.email, { template: 'password-changed' })).length, 0);
    });

    it('a new password keeps this browser signed in; others stay signed in unless asked', async () => {
      const user = await createUser(gh);
      const other = new UserAgent();
      await openAccount(gh, other, user);
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      const { form } = await formOn(gh, ua, '/account/password', 'Change password');
      const done = await submit(gh, ua, form, { current_password: user.password, new_password: NEW_PASSWORD });
      assert.equal(done.url, `${gh.issuer}/account?done=password-changed`);
      assert.match(done.html!, /Password changed\./);
      assert.equal(await signedIn(gh, ua), 200);
      assert.equal(await signedIn(gh, other), 200, 'the other browser was not asked to sign out');

      const [mail] = await mailTo(gh, user.email, { template: 'password-changed' });
      assert.ok(mail, 'the owner is told');
      assert.doesNotMatch(mail.text, /signed out everywhere/);
      const [event] = await auditEvents(gh, 'password.changed', user.id);
      assert.equal(event?.actor, `user:${user.id}`);
      // The new password signs in; the old one no longer does.
      const fresh = await openAccount(gh, new UserAgent(), { ...user, password: NEW_PASSWORD });
      assert.equal(fresh.url, `${gh.issuer}/account`);
      const stale = await openAccount(gh, new UserAgent(), user);
      assert.notEqual(stale.url, `${gh.issuer}/account`);
    });

    it('"Sign out of other sessions" ends the other browsers and apps\' refresh tokens, not this browser', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { client_name: 'Phone App' }));
      const phone = await loginAndGetTokens(gh, config, { user });
      assert.ok(phone.tokens.refresh_token);
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      const { form } = await formOn(gh, ua, '/account/password', 'Change password');
      const done = await submit(gh, ua, form, {
        current_password: user.password,
        new_password: NEW_PASSWORD,
        sign_out_others: 'yes',
      });
      assert.equal(done.url, `${gh.issuer}/account?done=password-changed-signed-out`);
      assert.match(done.html!, /Your other sessions are signed out\./);
      assert.equal(await signedIn(gh, ua), 200, 'this browser stays signed in');
      assert.equal(await signedIn(gh, phone.ua), 303, 'the other browser signs in again');
      await assert.rejects(client.refreshTokenGrant(config, phone.tokens.refresh_token!), (err: unknown) => {
        assert.equal((err as { error?: string }).error, 'invalid_grant');
        return true;
      });
      const sessions = await gh.admin('GET', `/admin/users/${user.id}/sessions`);
      assert.equal(sessions.body.items.length, 1);
      const [event] = await auditEvents(gh, 'password.changed', user.id);
      assert.equal(event?.data?.other_sessions_revoked, true);
      const [mail] = await mailTo(gh, user.email, { template: 'password-changed' });
      assert.match(mail!.text, /signed out everywhere/);
    });

    it('"Change email" sends a link to the new address; following it switches and verifies the address', async () => {
      const user = await createUser(gh, { email_verified: false });
      const newEmail = `moved-${Math.random().toString(36).slice(2)}@example.test`;
      const ua = new UserAgent();
      const home = await openAccount(gh, ua, user);
      assert.match(home.html!, /href="\/account\/email">Change email</);
      const { page, form } = await formOn(gh, ua, '/account/email', 'Change email');
      assert.match(page.html!, /<label for="new-email">New email<\/label>/);
      const sent = await submit(gh, ua, form, { new_email: newEmail });
      assert.equal(sent.res.status, 200);
      assert.match(sent.html!, /<h1>Check your new inbox<\/h1>/);
      assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).body.email, user.email, 'not switched yet');

      const [mail] = await mailTo(gh, newEmail, { template: 'verify-new-email' });
      assert.ok(mail, 'a link to the new address');
      const link = linkIn(mail, `${gh.issuer}/account/email/verify?token=`).href;
      // The link works in any browser, signed in or not; the GET alone changes nothing (mail scanners).
      const elsewhere = new UserAgent();
      const confirm = await elsewhere.follow(link, gh.issuer);
      assert.equal(confirm.res.status, 200);
      assert.match(confirm.html!, /<h1>Confirm your new email address<\/h1>/);
      assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).body.email, user.email);
      const [button] = formsWithButton(confirm.html!, 'Confirm new email');
      const changed = await submit(gh, elsewhere, button!);
      assert.equal(changed.res.status, 200);
      assert.match(changed.html!, /<h1>Email address changed<\/h1>/);

      const now = (await gh.admin('GET', `/admin/users/${user.id}`)).body;
      assert.equal(now.email, newEmail);
      assert.equal(now.email_verified, true);
      const [notice] = await mailTo(gh, user.email, { template: 'email-changed' });
      assert.ok(notice, 'the old address is told');
      assert.ok(notice.text.includes(newEmail));
      const [event] = await auditEvents(gh, 'email.changed', user.id);
      assert.ok(event);

      // Single use.
      const again = await submit(gh, elsewhere, button!);
      assert.equal(again.res.status, 400);
      assert.match(again.html!, /expired or was already used/);
      assert.equal((await new UserAgent().follow(link, gh.issuer)).res.status, 400);
      // The new address signs in.
      const signIn = await openAccount(gh, new UserAgent(), { email: newEmail, password: user.password });
      assert.equal(signIn.url, `${gh.issuer}/account`);
    });

    it('"Change email" to an address another account uses answers the same and sends no link', async () => {
      const user = await createUser(gh);
      const taken = await createUser(gh);
      const free = `free-${Math.random().toString(36).slice(2)}@example.test`;
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      const answer = async (address: string) => {
        const { form } = await formOn(gh, ua, '/account/email', 'Change email');
        const res = await submit(gh, ua, form, { new_email: address });
        return { status: res.res.status, body: res.html!.replaceAll(address, 'ADDRESS') };
      };
      assert.deepEqual(await answer(taken.email), await answer(free), 'the page does not tell');
      assert.equal((await mailTo(gh, taken.email)).length, 0, 'no mail to the other account');
      assert.equal((await mailTo(gh, free, { template: 'verify-new-email' })).length, 1);
      assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).body.email, user.email);
    });

    it('"Change email" is limited per address: 429 with Retry-After, and the form again', async () => {
      const user = await createUser(gh);
      const target = `busy-${Math.random().toString(36).slice(2)}@example.test`;
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      let last: Awaited<ReturnType<typeof submit>> | undefined;
      for (let i = 0; i < 6; i++) {
        const { form } = await formOn(gh, ua, '/account/email', 'Change email');
        last = await submit(gh, ua, form, { new_email: target });
        if (last.res.status === 429) break;
      }
      assert.equal(last!.res.status, 429);
      assert.ok(Number(last!.res.headers.get('retry-after')) > 0);
      assert.match(last!.html!, /Too many emails were asked for\. Try again in \d+ minutes?\./);
      assert.ok(formsWithButton(last!.html!, 'Change email').length, 'the form again');
      assert.ok((await mailTo(gh, target)).length <= 5);
    });

    it('"Change email" and "Delete account" need a recent sign-in', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      const [form] = formsWithButton(
        (await ua.follow(`${gh.issuer}/account/delete`, gh.issuer)).html!,
        'Delete account',
      );
      clock.offsetMs = 6 * 60_000;
      try {
        for (const path of ['/account/email', '/account/delete']) {
          const res = await ua.request(`${gh.issuer}${path}`);
          assert.equal(res.status, 303);
          assert.equal(res.headers.get('location'), `/account/reauthenticate?return=${encodeURIComponent(path)}`);
        }
        const post = await ua.request(`${gh.issuer}/account/delete`, { form: { ...form!.fields, confirm: 'yes' } });
        assert.equal(post.status, 303, 'the deletion waits for a fresh sign-in');
        assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).status, 200, 'still there');
      } finally {
        clock.offsetMs = 0;
      }
    });

    it('"Delete account" asks for confirmation, then ends everything and says so', async () => {
      const user = await createUser(gh);
      const config = await discover(gh, await createClient(gh, { client_name: 'Photo App' }));
      const app = await loginAndGetTokens(gh, config, { user });
      const ua = new UserAgent();
      const home = await openAccount(gh, ua, user);
      assert.match(home.html!, /href="\/account\/delete">Delete account</);
      const { page, form } = await formOn(gh, ua, '/account/delete', 'Delete account');
      assert.match(page.html!, /<label for="confirm"/);

      const unconfirmed = await submit(gh, ua, form);
      assert.equal(unconfirmed.res.status, 400);
      assert.match(unconfirmed.html!, /Tick the box/);
      assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).status, 200);

      const gone = await submit(gh, ua, form, { confirm: 'yes' });
      assert.equal(gone.res.status, 200);
      assert.match(gone.html!, /<h1>Your account was deleted<\/h1>/);
      assert.equal((await gh.admin('GET', `/admin/users/${user.id}`)).status, 404);
      await assert.rejects(client.refreshTokenGrant(config, app.tokens.refresh_token!), (err: unknown) => {
        assert.equal((err as { error?: string }).error, 'invalid_grant');
        return true;
      });
      assert.equal(await signedIn(gh, ua), 303, 'this browser is signed out too');
      const stranger = new UserAgent();
      const login = await stranger.follow(`${gh.issuer}/account`, gh.issuer);
      const retry = await passwordSignIn(gh, stranger, login.html!, user);
      assert.notEqual(retry.url, `${gh.issuer}/account`, 'the password no longer signs in');
      assert.equal((await mailTo(gh, user.email, { template: 'account-deleted' })).length, 1);
      const [event] = await auditEvents(gh, 'account.deleted', user.id);
      assert.equal(event?.actor, `user:${user.id}`, 'deleted by the person');
    });
  });
}
