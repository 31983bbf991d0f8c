import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  type IdTokenClaims,
  PASSWORD,
  type client,
  createClient,
  createUser,
  discover,
  redeemCode,
  startAuthorization,
} from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';
import { linkFrom, mailTo } from '../support/mailbox.js';
import { masked } from './page-mask.js';

const unique = (tag: string) => `${tag}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.test`;

/** An authorization request in a fresh browser, on to the registration form. */
async function openRegister(gh: RunningGatehouse, config: client.Configuration, ua = new UserAgent()) {
  const auth = await startAuthorization(gh, config, { scope: 'openid email', prompt: 'login consent' }, ua);
  assert.equal(auth.step.res.status, 200);
  const href = /<a href="([^"]+\/register)">Create an account<\/a>/.exec(auth.step.html!)?.[1];
  assert.ok(href, 'a "Create an account" link on the sign-in page');
  const page = await ua.follow(new URL(href, gh.issuer).toString(), gh.issuer);
  return {
    ...auth,
    ua,
    interactionUrl: auth.step.url,
    action: new URL(formAction(page.html!), gh.issuer).toString(),
    csrf: hiddenField(page.html!, 'csrf'),
  };
}

async function register(gh: RunningGatehouse, config: client.Configuration, email: string, password = PASSWORD) {
  const reg = await openRegister(gh, config);
  const res = await reg.ua.request(reg.action, { form: { csrf: reg.csrf, name: 'New Person', email, password } });
  return { ...reg, res, html: await res.text() };
}

async function accounts(gh: RunningGatehouse, email: string) {
  const listed = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
  return (listed.body.items as Array<{ id: string; email: string; email_verified: boolean }>).filter(
    (u) => u.email.toLowerCase() === email.toLowerCase(),
  );
}

/** Opens the link's confirm page in `ua` and presses "Confirm"; follows to a page or the callback. */
async function confirmLink(gh: RunningGatehouse, ua: UserAgent, link: string) {
  const page = await ua.follow(link, gh.issuer);
  assert.equal(page.res.status, 200, page.html);
  assert.match(page.html!, /<h1>Confirm your email address<\/h1>/);
  return ua.follow(new URL(formAction(page.html!), gh.issuer).toString(), gh.issuer, {
    form: { csrf: hiddenField(page.html!, 'csrf'), token: hiddenField(page.html!, 'token') },
  });
}

/** Allows on the consent page when it is shown; returns the callback URL. */
async function throughConsent(gh: RunningGatehouse, ua: UserAgent, step: { url: string; html?: string }) {
  let at = step;
  if (at.html?.includes('name="decision"'))
    at = await ua.follow(new URL(formAction(at.html), gh.issuer).toString(), gh.issuer, {
      form: { csrf: hiddenField(at.html, 'csrf'), decision: 'allow' },
    });
  assert.ok(at.url.startsWith('http://127.0.0.1:8976/callback'), `at the callback, not ${at.url} ${at.html}`);
  return new URL(at.url);
}

/** What must be equal between two answers for a new and a taken address. */
function comparable(res: Response, html: string, email: string) {
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    cacheControl: res.headers.get('cache-control'),
    csp: res.headers.get('content-security-policy'),
    location: res.headers.get('location'),
    cookies: res.headers.getSetCookie().map((c) => c.split('=')[0]),
    body: masked(html, email),
  };
}

for (const backend of backends()) {
  describe(`registration with EMAIL_VERIFICATION=required (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    before(async () => {
      gh = await startGatehouse(backend, { env: { GATEHOUSE_REGISTRATION: 'true' } });
      config = await discover(gh, await createClient(gh, { client_name: 'Signup App' }));
    });
    after(async () => {
      await gh?.destroy();
    });

    it('answers the same "Check your email" page for a new and a taken address; only email tells', async () => {
      const taken = await createUser(gh);
      const fresh = unique('new');
      const a = await register(gh, config, fresh);
      const b = await register(gh, config, taken.email);
      assert.equal(a.res.status, 200);
      assert.match(a.html, /<h1>Check your email<\/h1>/);
      assert.deepEqual(comparable(a.res, a.html, fresh), comparable(b.res, b.html, taken.email));
      assert.equal((await accounts(gh, fresh)).length, 0, 'no account before the link is followed');
      assert.deepEqual(
        (await mailTo(gh, fresh)).map((m) => m.template),
        ['verify-email'],
      );
      const exists = (await mailTo(gh, taken.email)).map((m) => m.template);
      assert.deepEqual(exists, ['account-exists']);
      const text = (await mailTo(gh, taken.email))[0]!.text;
      assert.match(text, /\/account/, 'a sign-in link');
      assert.match(text, /\/reset-password\?token=/, 'a reset link');
      assert.ok(!JSON.stringify(await mailTo(gh, fresh)).includes(PASSWORD), 'no password in the email');
    });

    it('a policy failure is shown for new and taken addresses alike, and sends nothing', async () => {
      const taken = await createUser(gh);
      const fresh = unique('weak');
      const a = await register(gh, config, fresh, 'short');
      const b = await register(gh, config, taken.email, 'short');
      assert.equal(a.res.status, 400);
      assert.deepEqual(comparable(a.res, a.html, fresh), comparable(b.res, b.html, taken.email));
      assert.equal((await mailTo(gh, fresh)).length, 0);
    });

    it('the link makes the account and finishes the authorization in the browser that registered', async () => {
      const email = unique('verify');
      const reg = await register(gh, config, email);
      const link = await linkFrom(gh, email, 'verify-email', '/verify-email');
      assert.ok(link.startsWith(`${gh.issuer}/verify-email?token=`), 'on ISSUER');
      // A mail scanner's GET does not spend the link.
      const scanned = await new UserAgent().request(link);
      assert.equal(scanned.status, 200);
      assert.equal((await accounts(gh, email)).length, 0);
      const step = await confirmLink(gh, reg.ua, link);
      const callback = await throughConsent(gh, reg.ua, step);
      const tokens = await redeemCode(config, callback, reg);
      const claims = tokens.claims() as IdTokenClaims;
      assert.equal(claims.email, email);
      assert.equal(claims.email_verified, true);
      const [account] = await accounts(gh, email);
      assert.equal(account?.email_verified, true);
      assert.equal(claims.sub, account?.id);

      // Used once: the link now says so, and a replayed POST makes nothing.
      const again = await new UserAgent().follow(link, gh.issuer);
      assert.equal(again.res.status, 410);
      assert.match(again.html!, /This link has expired or was already used/);
      assert.equal((await accounts(gh, email)).length, 1);
    });

    it('opened in another browser: "Email verified" with a way to sign in; the password works', async () => {
      const email = unique('elsewhere');
      await register(gh, config, email);
      const link = await linkFrom(gh, email, 'verify-email', '/verify-email');
      const step = await confirmLink(gh, new UserAgent(), link);
      assert.equal(step.res.status, 200);
      assert.match(step.html!, /<h1>Email verified<\/h1>/);
      assert.match(step.html!, /href="\/account"/);
      const [account] = await accounts(gh, email);
      assert.equal(account?.email_verified, true);
      const auth = await startAuthorization(gh, config, { scope: 'openid email' });
      const signedIn = await auth.ua.follow(new URL(formAction(auth.step.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(auth.step.html!, 'csrf'), email, password: PASSWORD },
      });
      await throughConsent(gh, auth.ua, signedIn);
      const audit = await gh.admin('GET', `/admin/audit-events?type=email.verified&limit=50`);
      assert.ok(
        (audit.body.items ?? audit.body).some((e: { subject?: string }) => e.subject === account!.id),
        'email.verified is audited',
      );
    });

    it('an expired link is refused and makes no account', async () => {
      const email = unique('expired');
      await register(gh, config, email);
      const link = await linkFrom(gh, email, 'verify-email', '/verify-email');
      const page = await new UserAgent().follow(link, gh.issuer);
      await gh.instance.database
        .db()('one_time_values')
        .where('key', 'like', 'email-token:verify_email:%')
        .update({ expires_at: new Date(Date.now() - 1000) });
      const post = await new UserAgent().request(new URL(formAction(page.html!), gh.issuer).toString(), {
        form: { csrf: hiddenField(page.html!, 'csrf'), token: hiddenField(page.html!, 'token') },
      });
      assert.equal(post.status, 410);
      assert.match(await post.text(), /This link has expired or was already used/);
      const get = await new UserAgent().request(link);
      assert.equal(get.status, 410);
      assert.equal((await accounts(gh, email)).length, 0);
    });

    it('an address that got an account while the link waited gets no second account', async () => {
      const email = unique('raced');
      await register(gh, config, email, 'a different long passphrase');
      const link = await linkFrom(gh, email, 'verify-email', '/verify-email');
      await createUser(gh, { email });
      const step = await confirmLink(gh, new UserAgent(), link);
      assert.match(step.html!, /You already have an account/);
      assert.equal((await accounts(gh, email)).length, 1);
    });

    it("a confirm without the link's CSRF token is refused", async () => {
      const email = unique('csrf');
      await register(gh, config, email);
      const link = await linkFrom(gh, email, 'verify-email', '/verify-email');
      const token = new URL(link).searchParams.get('token')!;
      const res = await new UserAgent().request(`${gh.issuer}/verify-email`, { form: { token, csrf: 'forged' } });
      assert.equal(res.status, 403);
      assert.equal((await accounts(gh, email)).length, 0);
    });
  });

  describe(`registration with EMAIL_VERIFICATION=optional (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    before(async () => {
      gh = await startGatehouse(backend, { env: { GATEHOUSE_REGISTRATION: 'true', EMAIL_VERIFICATION: 'optional' } });
      config = await discover(gh, await createClient(gh, { client_name: 'Optional App' }));
    });
    after(async () => {
      await gh?.destroy();
    });

    it('same page for new and taken; Continue signs the new account in unverified; the link verifies it', async () => {
      const taken = await createUser(gh);
      const email = unique('optional');
      const a = await register(gh, config, email);
      const b = await register(gh, config, taken.email);
      assert.match(a.html, /<h1>Check your email<\/h1>/);
      assert.deepEqual(comparable(a.res, a.html, email), comparable(b.res, b.html, taken.email));

      const cont = await a.ua.follow(new URL(formAction(a.html), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(a.html, 'csrf') },
      });
      const tokens = await redeemCode(config, await throughConsent(gh, a.ua, cont), a);
      const claims = tokens.claims() as IdTokenClaims;
      assert.equal(claims.email, email);
      assert.equal(claims.email_verified, false);

      // The taken address's Continue leads to the sign-in page, as for anyone.
      const other = await b.ua.follow(new URL(formAction(b.html), gh.issuer).toString(), gh.issuer, {
        form: { csrf: hiddenField(b.html, 'csrf') },
      });
      assert.match(other.html!, /<h1>Sign in/);

      const link = await linkFrom(gh, email, 'verify-email', '/verify-email');
      const verified = await confirmLink(gh, new UserAgent(), link);
      assert.match(verified.html!, /<h1>Email verified<\/h1>/);
      const [account] = await accounts(gh, email);
      assert.equal(account?.email_verified, true);
    });
  });
}
