import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { type client, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';
import { lastMail, linkIn, mailTo } from '../support/mailbox.js';
import { askByEmail, SignIn } from './email-sign-in-kit.js';

const decode = (s: string) => s.replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)));

for (const backend of backends()) {
  describe(`email sign-in link (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    let skewMs = 0;
    before(async () => {
      gh = await startGatehouse(backend, {
        env: { EMAIL_SIGN_IN_LINK: 'on' },
        parts: { now: () => Date.now() + skewMs },
      });
      config = await discover(gh, await createClient(gh));
    });
    after(async () => {
      await gh?.destroy();
    });

    /** Another device: its own cookie jar. GET shows the confirm button, POST confirms. */
    async function openOnOtherDevice(link: string) {
      const other = new UserAgent();
      const confirm = await other.request(link);
      const html = await confirm.text();
      return { other, confirm, html };
    }

    async function confirmOn(other: UserAgent, html: string) {
      const csrf = /name="csrf" value="([^"]*)"/.exec(html)![1]!;
      const token = decode(/name="token" value="([^"]*)"/.exec(html)![1]!);
      const res = await other.request(`${gh.issuer}/sign-in-link`, { form: { csrf, token } });
      return { res, html: await res.text() };
    }

    it('opened on another device, it signs in the browser that asked; the other device gets no session', async () => {
      const user = await createUser(gh);
      const signIn = new SignIn(gh, config);
      const login = await signIn.open();
      assert.match(login.html, /<button[^>]*>Email me a sign-in link<\/button>/);
      assert.doesNotMatch(login.html, /Email me a sign-in code/, 'the code is off');
      const waiting = await askByEmail(gh, signIn, login, user.email, 'link');
      assert.equal(waiting.res.status, 200);
      assert.match(waiting.html, /<h1>Check your email<\/h1>/);
      assert.match(
        waiting.html,
        /<meta http-equiv="refresh" content="\d+; url&#61;\/interaction\/[\w-]+\?method&#61;email_code">/,
      );
      assert.match(waiting.html, /<a href="[^"]+">Use another way to sign in<\/a>/);

      const link = linkIn(await lastMail(gh, user.email, 'sign-in-link'), '/sign-in-link').href;
      assert.ok(link.startsWith(`${gh.issuer}/sign-in-link?token=`), link);
      // Still waiting: the poll shows the same page.
      const poll = await signIn.get(waiting.url);
      assert.equal(poll.res.status, 200);
      assert.match(poll.html, /Waiting for the link to be opened/);

      const first = await openOnOtherDevice(link);
      assert.equal(first.confirm.status, 200);
      assert.match(first.html, /<button type="submit">Yes, sign me in there<\/button>/);
      // A mail scanner's GET does not use the link up.
      const { other, html } = await openOnOtherDevice(link);
      const confirmed = await confirmOn(other, html);
      assert.equal(confirmed.res.status, 200);
      assert.match(confirmed.html, /You can go back to the other device or browser tab/);
      assert.equal(confirmed.res.headers.getSetCookie().length, 0, 'no cookie for the device that opened the link');
      assert.equal(other.cookies.size, 0);

      const tokens = await signIn.finish(await signIn.get(waiting.url));
      const claims = tokens.claims()!;
      assert.equal(claims.sub, user.id);
      assert.deepEqual(claims.amr, ['email']);

      const again = await confirmOn(other, html);
      assert.equal(again.res.status, 400, 'the link works once');
      assert.match(again.html, /expired or was already used/);
      const reopened = await openOnOtherDevice(link);
      assert.equal(reopened.confirm.status, 400);
    });

    it('an unknown address waits on the same page and gets no mail', async () => {
      const signIn = new SignIn(gh, config);
      const unknown = `nobody-${Date.now()}@example.test`;
      const waiting = await askByEmail(gh, signIn, await signIn.open(), unknown, 'link');
      assert.equal(waiting.res.status, 200);
      assert.match(waiting.html, /Waiting for the link to be opened/);
      assert.deepEqual(await mailTo(gh, unknown), []);
    });

    it('the waiting page gives up when the link expires; a tampered token is refused', async () => {
      const user = await createUser(gh);
      const signIn = new SignIn(gh, config);
      const waiting = await askByEmail(gh, signIn, await signIn.open(), user.email, 'link');
      const link = linkIn(await lastMail(gh, user.email, 'sign-in-link'), '/sign-in-link').href;
      const forged = await new UserAgent().request(`${link.slice(0, -3)}AAA`);
      assert.equal(forged.status, 400);
      skewMs = 10 * 60_000 + 1000;
      try {
        const late = await signIn.get(waiting.url);
        assert.equal(late.res.status, 400);
        assert.match(late.html, /The sign-in link expired\. Ask for a new one\./);
        assert.match(late.html, /Email me a sign-in link/);
        const { other, html } = await openOnOtherDevice(link);
        assert.equal((await confirmOn(other, html)).res.status, 400, 'too late to approve as well');
      } finally {
        skewMs = 0;
      }
    });

    it('a confirm form without its token is refused', async () => {
      const res = await new UserAgent().request(`${gh.issuer}/sign-in-link`, {
        form: { token: 'a'.repeat(43), csrf: 'x' },
      });
      assert.equal(res.status, 403);
    });
  });
}
