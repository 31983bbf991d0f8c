import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { type client, createClient, createUser, discover } from '../support/relying-party.js';
import { codeIn, lastMail, mailTo } from '../support/mailbox.js';
import { askByEmail, SignIn } from './email-sign-in-kit.js';

const ACR_ONE_FACTOR = 'urn:gatehouse:acr:password';
const WRONG = /That code is not right/;
const DEAD = /This code no longer works\. Ask for a new one\./;

for (const backend of backends()) {
  describe(`email sign-in code (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    /** Added to the instance's clock (the code's lifetime). */
    let skewMs = 0;
    before(async () => {
      gh = await startGatehouse(backend, {
        env: { EMAIL_SIGN_IN: 'on' },
        parts: { now: () => Date.now() + skewMs },
      });
      config = await discover(gh, await createClient(gh));
    });
    after(async () => {
      await gh?.destroy();
    });

    /** A new person on the sign-in page who asked for a code; returns the code page and the mailed code. */
    async function codeAsked() {
      const user = await createUser(gh);
      const signIn = new SignIn(gh, config);
      const login = await signIn.open();
      const page = await askByEmail(gh, signIn, login, user.email, 'code');
      return { user, signIn, page, code: codeIn(await lastMail(gh, user.email, 'sign-in-code')) };
    }

    it('a code from the email signs in; the ID token says amr email, one factor', async () => {
      const signIn = new SignIn(gh, config);
      const login = await signIn.open();
      assert.match(login.html, /<button[^>]*>Email me a sign-in code<\/button>/);
      assert.doesNotMatch(login.html, /Email me a sign-in link/, 'the link is off');

      const user = await createUser(gh);
      const page = await askByEmail(gh, signIn, login, user.email, 'code');
      assert.equal(page.res.status, 200);
      assert.match(page.url, /\/interaction\/[^/?]+\?method=email_code$/);
      assert.match(page.html, /<h1>Check your email<\/h1>/);
      assert.match(page.html, /<label for="sign-in-code">Sign-in code<\/label>/);
      assert.match(page.html, /<button type="submit">Verify<\/button>/);
      assert.match(page.html, /<a href="[^"]+">Use another way to sign in<\/a>/);

      const mail = await lastMail(gh, user.email, 'sign-in-code');
      const code = codeIn(mail);
      assert.match(mail.subject, new RegExp(code));
      const stored = JSON.stringify(await gh.instance.database.db()('one_time_values').select('value'));
      assert.ok(!stored.includes(`"${code}"`), 'the code is not stored in clear');

      const tokens = await signIn.finish(await signIn.submit(page, { code }));
      const claims = tokens.claims()!;
      assert.equal(claims.sub, user.id);
      assert.deepEqual(claims.amr, ['email']);
      assert.equal(claims.acr, ACR_ONE_FACTOR);
      const audit = await gh.admin('GET', `/admin/audit-events?type=login.succeeded&user=${user.id}`);
      assert.deepEqual(audit.body.items[0].data.steps, ['email_code']);
    });

    it('spaces in a typed code are fine; five wrong tries kill the code, the right one is then refused', async () => {
      const { signIn, page, code, user } = await codeAsked();
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      let last = page;
      for (let i = 1; i <= 4; i++) {
        last = await signIn.submit(last, { code: wrong });
        assert.equal(last.res.status, 401);
        assert.match(last.html, WRONG, `try ${i}`);
        assert.match(last.html, /Sign-in code/, 'the code page again');
      }
      last = await signIn.submit(last, { code: wrong });
      assert.equal(last.res.status, 401);
      assert.match(last.html, DEAD);
      const refused = await signIn.submit(page, { code: `${code.slice(0, 3)} ${code.slice(3)}` });
      assert.equal(refused.res.status, 401);
      assert.match(refused.html, DEAD);
      assert.match(refused.html, /Email me a sign-in code/, 'back on the sign-in page to ask again');
      // Five against the account; the sixth finds no code left to name an account by.
      const failed = await gh.admin('GET', `/admin/audit-events?type=login.failed&user=${user.id}`);
      assert.equal(failed.body.items.length, 5);

      // A new code works (and spaces in it are ignored).
      const again = await askByEmail(gh, signIn, refused, user.email, 'code');
      const fresh = codeIn(await lastMail(gh, user.email, 'sign-in-code'));
      assert.notEqual(fresh, code);
      const tokens = await signIn.finish(
        await signIn.submit(again, { code: `${fresh.slice(0, 3)} ${fresh.slice(3)}` }),
      );
      assert.equal(tokens.claims()!.sub, user.id);
    });

    it('a code works once: of two submissions at the same time, one signs in', async () => {
      const { signIn, page, code } = await codeAsked();
      const [a, b] = await Promise.all([signIn.submit(page, { code }), signIn.submit(page, { code })]);
      const statuses = [a.res.status, b.res.status].sort();
      // The one that signed in reaches consent (or the callback); the other is refused.
      const through = [a, b].filter((p) => p.html.includes('name="decision"') || p.url.includes('/callback'));
      assert.equal(through.length, 1, `statuses ${statuses}`);
      const refused = through[0] === a ? b : a;
      assert.ok(refused.res.status >= 400, `${refused.res.status}`);
      await signIn.finish(through[0]!);
    });

    it('a code expires after 10 minutes', async () => {
      const { signIn, page, code } = await codeAsked();
      skewMs = 10 * 60_000 + 1000;
      try {
        const late = await signIn.submit(page, { code });
        assert.equal(late.res.status, 401);
        assert.match(late.html, DEAD);
      } finally {
        skewMs = 0;
      }
    });

    it('an unknown address gets the same page, no mail, and no code works', async () => {
      const known = await codeAsked();
      const signIn = new SignIn(gh, config);
      const unknown = `nobody-${Date.now()}@example.test`;
      const page = await askByEmail(gh, signIn, await signIn.open(), unknown, 'code');
      const normalise = (html: string, email: string) =>
        html
          .replaceAll(email, 'EMAIL')
          .replace(/\/interaction\/[\w-]+/g, '/interaction/UID')
          .replace(/name="csrf" value="[^"]*"/g, 'csrf')
          .replace(/name="email" value="[^"]*"/g, 'email');
      assert.equal(page.res.status, known.page.res.status);
      assert.equal(normalise(page.html, unknown), normalise(known.page.html, known.user.email));
      assert.deepEqual(await mailTo(gh, unknown), []);
      const guess = await signIn.submit(page, { code: known.code });
      assert.equal(guess.res.status, 401);
      assert.match(guess.html, WRONG);
    });

    it('still needs a second factor when the client requires MFA', async () => {
      const strict = await discover(gh, await createClient(gh, { require_mfa: true }));
      const user = await createUser(gh);
      const signIn = new SignIn(gh, strict);
      const page = await askByEmail(gh, signIn, await signIn.open(), user.email, 'code');
      const next = await signIn.submit(page, { code: codeIn(await lastMail(gh, user.email, 'sign-in-code')) });
      assert.equal(next.res.status, 200);
      assert.match(next.html, /Set up two-step verification/);
    });

    it('sends are limited per address: 429 with Retry-After, audited, same for unknown addresses', async () => {
      for (const email of [(await createUser(gh)).email, `nobody-${Date.now()}@example.test`]) {
        const signIn = new SignIn(gh, config);
        let page = await signIn.open();
        for (let i = 0; i < 5; i++) {
          page = await askByEmail(gh, signIn, page, email, 'code');
          assert.equal(page.res.status, 200);
          page = await signIn.get(/href="([^"]+)">Use another way to sign in/.exec(page.html)![1]!);
        }
        const throttled = await askByEmail(gh, signIn, page, email, 'code');
        assert.equal(throttled.res.status, 429);
        assert.ok(Number(throttled.res.headers.get('retry-after')) > 0);
        assert.match(throttled.html, /Too many emails asked for/);
      }
      const events = await gh.admin('GET', '/admin/audit-events?type=email.send_throttled');
      assert.equal(events.body.items.length, 2);
    });
  });
}

describe('email sign-in off (the default)', () => {
  let gh: RunningGatehouse;
  before(async () => {
    gh = await startGatehouse(backends()[0]!);
  });
  after(async () => {
    await gh?.destroy();
  });

  it('shows no button, refuses the route, and has no sign-in link page', async () => {
    const config = await discover(gh, await createClient(gh));
    const signIn = new SignIn(gh, config);
    const login = await signIn.open();
    assert.doesNotMatch(login.html, /Email me a sign-in/);
    const uid = /\/interaction\/([\w-]+)/.exec(login.url)![1]!;
    const csrf = /name="csrf" value="([^"]*)"/.exec(login.html)![1]!;
    const user = await createUser(gh);
    for (const path of ['begin', 'login']) {
      const res = await signIn.ua.request(`${gh.issuer}/interaction/${uid}/${path}/email_code`, {
        form: { csrf, email: user.email, via: 'code', code: '123456' },
      });
      assert.equal(res.status, 404, path);
    }
    assert.deepEqual(await mailTo(gh, user.email), []);
    const link = await fetch(`${gh.issuer}/sign-in-link?token=${'a'.repeat(43)}`);
    assert.equal(link.status, 404);
  });
});
