import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { backends } from '../support/backends.js';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { createUser } from '../support/relying-party.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';
import {
  auditEvents,
  decodeEntities,
  formsWithButton,
  linkHref,
  openAccount,
  passwordSignIn,
  startAccountGatehouse,
  submit,
} from './account-agent.js';

type User = { id: string; email: string; password: string };

/** The code the app shows `steps` time steps from now (each step is accepted once per account). */
const codeAt = (secret: string, steps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

const setupKeyOf = (html: string) => {
  const m = /aria-label="Setup key"[^>]*>\s*<code>([^<]+)<\/code>/.exec(html);
  assert.ok(m, 'the setup key is on the page as text');
  return decodeEntities(m[1]!).replace(/\s+/g, '');
};

const recoveryCodesOf = (html: string) => {
  const list = /<ul[^>]*aria-label="Recovery codes"[^>]*>([\s\S]*?)<\/ul>/.exec(html);
  assert.ok(list, 'a list named "Recovery codes"');
  return [...list[1]!.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => decodeEntities(m[1]!));
};

/** /account → "Set up authenticator app" → "Turn on" with the right code; answers the secret and the codes shown. */
async function turnOnAuthenticator(gh: RunningGatehouse, ua: UserAgent, user: User) {
  const account = await openAccount(gh, ua, user);
  const setup = await ua.follow(
    new URL(linkHref(account.html!, 'Set up authenticator app'), gh.issuer).toString(),
    gh.issuer,
  );
  assert.equal(setup.res.status, 200);
  assert.match(setup.html!, /<img src="data:image\/svg\+xml;base64,[^"]+" alt="QR code"/);
  const secret = setupKeyOf(setup.html!);
  const [turnOn] = formsWithButton(setup.html!, 'Turn on');
  const shown = await submit(gh, ua, turnOn!, { code: await codeAt(secret) });
  return { secret, shown };
}

/** Signs in to /account in a new browser, answering the second-factor page with `answer`. */
async function signInWithSecondFactor(
  gh: RunningGatehouse,
  user: User,
  answer: (html: string, ua: UserAgent) => Promise<{ url: string; html?: string; res: Response }>,
) {
  const ua = new UserAgent();
  const login = await ua.follow(`${gh.issuer}/account`, gh.issuer);
  const second = await passwordSignIn(gh, ua, login.html!, user);
  assert.match(second.html!, /<h1>Verify it is you<\/h1>/);
  return { ua, result: await answer(second.html!, ua) };
}

for (const backend of backends()) {
  describe(`factors on the account page (${backend})`, () => {
    let gh: RunningGatehouse;
    const clock = { offsetMs: 0 };
    before(async () => {
      gh = await startAccountGatehouse(backend, clock);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('sets up the authenticator app with a code from the Setup key, then shows the recovery codes once', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const { secret, shown } = await turnOnAuthenticator(gh, ua, user);
      assert.equal(shown.res.status, 200);
      assert.match(shown.html!, /<h1>Save your recovery codes<\/h1>/);
      assert.match(shown.html!, /Authenticator app is on\./);
      const codes = recoveryCodesOf(shown.html!);
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      assert.equal(linkHref(shown.html!, 'Back to your account'), '/account');

      const page = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      assert.equal(formsWithButton(page.html!, 'Turn off').length, 1);
      assert.doesNotMatch(page.html!, /Set up authenticator app/);
      assert.equal(formsWithButton(page.html!, 'Generate new recovery codes').length, 1);
      assert.doesNotMatch(page.html!, /<code>/, 'the codes are not shown again');

      const enrolled = await auditEvents(gh, 'factor.enrolled', user.id, 2);
      assert.deepEqual(enrolled.map((e) => e.data?.factor).sort(), ['recovery_codes', 'totp']);
      assert.ok(enrolled.every((e) => e.actor === `user:${user.id}`));

      // The next sign-in asks for the app's code.
      const next = await signInWithSecondFactor(gh, user, async (html, ua2) =>
        ua2.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
          form: { csrf: hiddenField(html, 'csrf'), code: await codeAt(secret, 1) },
        }),
      );
      assert.equal(next.result.url, `${gh.issuer}/account`);
    });

    it('a wrong code keeps the same setup key, says what went wrong and offers the way back', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const account = await openAccount(gh, ua, user);
      const href = new URL(linkHref(account.html!, 'Set up authenticator app'), gh.issuer).toString();
      const setup = await ua.follow(href, gh.issuer);
      const [turnOn] = formsWithButton(setup.html!, 'Turn on');
      const right = await codeAt(setupKeyOf(setup.html!));
      const wrong = await submit(gh, ua, turnOn!, { code: right === '000000' ? '111111' : '000000' });
      assert.equal(wrong.res.status, 401, "the enrolment's status for a wrong code");
      assert.match(wrong.html!, /role="alert"/);
      assert.equal(setupKeyOf(wrong.html!), setupKeyOf(setup.html!), 'the app already holds this key');
      assert.equal(linkHref(wrong.html!, 'Back'), '/account');
      const page = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      assert.match(page.html!, /Set up authenticator app/, 'still off');
    });

    it('refuses "Turn on" without the CSRF token', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      const res = await ua.request(`${gh.issuer}/account/enrol/totp`, { form: { code: '123456' } });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /Back to your account/);
    });

    it('"Generate new recovery codes" shows a new set once; the old set stops working', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const { shown } = await turnOnAuthenticator(gh, ua, user);
      const old = recoveryCodesOf(shown.html!);
      const page = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      const [generateNew] = formsWithButton(page.html!, 'Generate new recovery codes');
      const fresh = await submit(gh, ua, generateNew!);
      assert.match(fresh.html!, /your old codes no longer work/);
      const codes = recoveryCodesOf(fresh.html!);
      assert.equal(codes.length, 10);
      assert.ok(!codes.some((c) => old.includes(c)), 'a new set');

      const useRecoveryCode = (code: string) => async (html: string, ua2: UserAgent) => {
        const form = await ua2.follow(new URL(linkHref(html, 'Use a recovery code'), gh.issuer).toString(), gh.issuer);
        assert.match(form.html!, /<label for="recovery-code">Recovery code<\/label>/);
        return ua2.follow(new URL(formAction(form.html!), gh.issuer).toString(), gh.issuer, {
          form: { csrf: hiddenField(form.html!, 'csrf'), code },
        });
      };
      const withOld = await signInWithSecondFactor(gh, user, useRecoveryCode(old[0]!));
      assert.notEqual(withOld.result.url, `${gh.issuer}/account`, 'an old code does not sign in');
      assert.match(withOld.result.html!, /role="alert"/);
      const withNew = await signInWithSecondFactor(gh, user, useRecoveryCode(codes[0]!));
      assert.equal(withNew.result.url, `${gh.issuer}/account`);
    });

    it('"Turn off" after a fresh sign-in with the app; the next sign-in asks for the password only', async () => {
      const user = await createUser(gh);
      const ua = new UserAgent();
      const { secret } = await turnOnAuthenticator(gh, ua, user);
      clock.offsetMs = 6 * 60_000;
      try {
        const page = await ua.follow(`${gh.issuer}/account`, gh.issuer);
        const [turnOff] = formsWithButton(page.html!, 'Turn off');
        const confirm = await submit(gh, ua, turnOff!);
        assert.match(confirm.html!, /<h1>Confirm it is you<\/h1>/);
        const login = await ua.follow(
          new URL(linkHref(confirm.html!, 'Sign in again'), gh.issuer).toString(),
          gh.issuer,
        );
        clock.offsetMs = 0;
        const second = await passwordSignIn(gh, ua, login.html!, user);
        assert.match(second.html!, /Authentication code/, 're-authentication asks for the current factor too');
        const back = await ua.follow(new URL(formAction(second.html!), gh.issuer).toString(), gh.issuer, {
          form: { csrf: hiddenField(second.html!, 'csrf'), code: await codeAt(secret, 1) },
        });
        assert.equal(back.url, `${gh.issuer}/account`);
        const [again] = formsWithButton(back.html!, 'Turn off');
        const off = await submit(gh, ua, again!);
        assert.equal(off.url, `${gh.issuer}/account?done=totp-off`);
        assert.match(off.html!, /Authenticator app is off\./);
        assert.match(off.html!, /Set up authenticator app/);
        assert.doesNotMatch(off.html!, /Generate new recovery codes/, 'no recovery codes without a factor');
      } finally {
        clock.offsetMs = 0;
      }
      const [removed] = await auditEvents(gh, 'factor.removed', user.id);
      assert.equal(removed?.actor, `user:${user.id}`);
      assert.equal(removed?.data?.factor, 'totp');

      const fresh = new UserAgent();
      const login = await fresh.follow(`${gh.issuer}/account`, gh.issuer);
      const done = await passwordSignIn(gh, fresh, login.html!, user);
      assert.equal(done.url, `${gh.issuer}/account`, 'the password alone signs in again');
    });
  });
}
