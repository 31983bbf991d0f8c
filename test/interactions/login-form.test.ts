import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  CALLBACK,
  PASSWORD,
  type client,
  createClient,
  createUser,
  discover,
  redeemCode,
  startAuthorization,
} from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';
import { linkFrom } from '../support/mailbox.js';

/** Traces of internals that must never reach a browser. */
const LEAKS = [
  /\n\s+at /,
  /\bat \S+ \(.*:\d+:\d+\)/,
  /Error:/,
  /node_modules/,
  /\.ts:\d+/,
  /TypeError|SyntaxError|ZodError/,
];

interface LoginPage {
  ua: UserAgent;
  res: Response;
  html: string;
  uid: string;
  action: string;
  csrf: string;
  verifier: string;
  state: string;
  nonce: string;
}

/** Starts an authorization request as a browser would and stops on the login page. */
async function openLogin(gh: RunningGatehouse, config: client.Configuration, ua = new UserAgent()): Promise<LoginPage> {
  const { step, verifier, state, nonce } = await startAuthorization(
    gh,
    config,
    { scope: 'openid email profile', prompt: 'login consent' },
    ua,
  );
  assert.equal(step.res.status, 200, `expected the login page, got ${step.res.status} at ${step.url}`);
  assert.ok(step.html, 'login page is HTML');
  const uid = /\/interaction\/([^/?#]+)$/.exec(new URL(step.url).pathname)?.[1];
  assert.ok(uid, `login page URL ${step.url}`);
  return {
    ua,
    res: step.res,
    html: step.html,
    uid,
    verifier,
    state,
    nonce,
    action: new URL(formAction(step.html), gh.issuer).toString(),
    csrf: hiddenField(step.html, 'csrf'),
  };
}

/** POSTs a raw body with the agent's cookies, without following redirects. */
async function postRaw(ua: UserAgent, url: string, body: string, contentType = 'application/x-www-form-urlencoded') {
  const res = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': contentType, cookie: [...ua.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    body,
  });
  return { res, html: await res.text() };
}

async function getPage(ua: UserAgent, url: string) {
  const res = await ua.request(url);
  return { res, html: await res.text() };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function errorText(html: string): string | undefined {
  return /<div class="error" role="alert">([^<]*)<\/div>/.exec(html)?.[1];
}

function assertSecurityHeaders(res: Response): void {
  assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.ok(res.headers.get('referrer-policy'), 'Referrer-Policy');
  assert.match(res.headers.get('cache-control') ?? '', /no-store/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
}

/** An HTML error page with a 4xx status, our headers and no internals. */
function assertErrorPage(r: { res: Response; html: string }, status?: number): void {
  const where = `${r.res.status} ${r.html.replace(/\s+/g, ' ').slice(0, 400)}`;
  if (status) assert.equal(r.res.status, status, where);
  assert.ok(r.res.status >= 400 && r.res.status < 500, where);
  assert.match(r.res.headers.get('content-type') ?? '', /^text\/html/, where);
  assert.equal(r.res.headers.get('location'), null, where);
  assertSecurityHeaders(r.res);
  for (const leak of LEAKS) assert.doesNotMatch(r.html, leak, `page leaks internals: ${where}`);
}

/** The interaction is still waiting for a sign-in: nobody was signed in by the refused request. */
async function assertStillOnLogin(page: LoginPage): Promise<void> {
  const again = await page.ua.request(page.action.replace(/\/login\/password$/, ''));
  assert.equal(again.status, 200);
  assert.match(await again.text(), /<button type="submit">Sign in<\/button>/);
}

for (const backend of backends()) {
  describe(`login and registration forms (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    let user: { id: string; email: string; password: string };

    before(async () => {
      gh = await startGatehouse(backend, { env: { GATEHOUSE_REGISTRATION: 'true' } });
      config = await discover(gh, await createClient(gh, { client_name: 'Form Test App' }));
      user = await createUser(gh);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('renders an accessible login page with strict headers', async () => {
      const page = await openLogin(gh, config);
      assert.match(page.html, /<label for="email">Email<\/label>/);
      assert.match(page.html, /<input id="email" name="email" type="email"/);
      assert.match(page.html, /<label for="password">Password<\/label>/);
      assert.match(page.html, /<input id="password" name="password" type="password"/);
      assert.match(page.html, /<button type="submit">Sign in<\/button>/);
      assert.match(page.html, /<input type="hidden" name="csrf" value="[A-Za-z0-9_-]{20,}">/);
      assert.match(page.html, /<form method="post" action="\/interaction\/[^"]+\/login\/password"/);
      assert.match(page.html, /Sign in to Form Test App/);
      assert.match(page.res.headers.get('content-type') ?? '', /^text\/html/);
      assertSecurityHeaders(page.res);
      assert.match(page.res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      // The passkey button's scripts come from our origin; no inline script, no other origin.
      const scripts = [...page.html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
      assert.deepEqual(scripts, [
        '<script src="/assets/simplewebauthn-browser.js" defer>',
        '<script src="/assets/passkey.js" defer>',
      ]);
      assert.doesNotMatch(page.html, /<script[^>]*>[^<]/i, 'an inline script');
      assert.match(page.res.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/);
    });

    it('signs in with the right email and password (the baseline for the refusals below)', async () => {
      const page = await openLogin(gh, config);
      const r = await postRaw(
        page.ua,
        page.action,
        form({ csrf: page.csrf, email: user.email, password: user.password }),
      );
      assert.equal(r.res.status, 303, r.html.slice(0, 300));
      assert.ok(r.res.headers.get('location')?.startsWith(`${gh.issuer}/`));
    });

    it('refuses a missing, wrong or foreign CSRF token with 403 and signs nobody in', async () => {
      const page = await openLogin(gh, config);
      const other = await openLogin(gh, config);
      const attempts: Array<Record<string, string>> = [
        { email: user.email, password: user.password },
        { csrf: '', email: user.email, password: user.password },
        { csrf: 'x'.repeat(page.csrf.length), email: user.email, password: user.password },
        { csrf: `${page.csrf}x`, email: user.email, password: user.password },
        // A valid token for a different interaction is not valid for this one.
        { csrf: other.csrf, email: user.email, password: user.password },
      ];
      for (const fields of attempts) {
        const r = await postRaw(page.ua, page.action, form(fields));
        assertErrorPage(r, 403);
        assert.doesNotMatch(r.html, /name="decision"/, 'consent page after a forged form');
        await assertStillOnLogin(page);
      }
    });

    it('answers an unknown email, a wrong password, a disabled and a password-less account alike', async () => {
      const disabled = await createUser(gh);
      assert.equal((await gh.admin('PATCH', `/admin/users/${disabled.id}`, { disabled: true })).status, 200);
      const passwordless = await createUser(gh, { password: undefined });
      const page = await openLogin(gh, config);
      const cases = [
        { email: `nobody-${Date.now()}@example.test`, password: PASSWORD },
        { email: user.email, password: `${PASSWORD}!` },
        { email: user.email.toUpperCase(), password: 'wrong but long enough' },
        { email: disabled.email, password: PASSWORD },
        { email: passwordless.email, password: PASSWORD },
      ];
      const pages: string[] = [];
      for (const fields of cases) {
        const r = await postRaw(page.ua, page.action, form({ csrf: page.csrf, ...fields }));
        assert.equal(r.res.status, 401, `${fields.email}: ${r.res.status}`);
        assert.equal(errorText(r.html), 'Email or password is incorrect.');
        assert.ok(r.html.includes(`value="${fields.email}"`), 'the email is kept in the form');
        assertSecurityHeaders(r.res);
        // Each page carries a fresh passkey challenge (random by design, the same for every account).
        pages.push(r.html.replace(fields.email, 'EMAIL').replace(/&#34;challenge&#34;:&#34;[\w-]+&#34;/, 'CHALLENGE'));
      }
      for (const html of pages)
        assert.equal(html, pages[0], 'the pages differ beyond the email: account existence leaks');
      await assertStillOnLogin(page);
    });

    it('asks again for empty fields with 400 and a message', async () => {
      const page = await openLogin(gh, config);
      for (const fields of [
        { email: '', password: PASSWORD },
        { email: user.email, password: '' },
        { email: '', password: '' },
        { email: '   ', password: PASSWORD },
        {},
      ] as Array<Record<string, string>>) {
        const r = await postRaw(page.ua, page.action, form({ csrf: page.csrf, ...fields }));
        assert.equal(r.res.status, 400, JSON.stringify(fields));
        assert.equal(errorText(r.html), 'Enter your email and password.');
        assert.match(r.html, /<button type="submit">Sign in<\/button>/);
      }
    });

    it('refuses oversized fields with a 4xx page, never a 5xx', async () => {
      const page = await openLogin(gh, config);
      const huge = await postRaw(
        page.ua,
        page.action,
        form({ csrf: page.csrf, email: user.email, password: 'p'.repeat(20 * 1024) }),
      );
      assertErrorPage(huge);
      const hugeEmail = await postRaw(
        page.ua,
        page.action,
        form({ csrf: page.csrf, email: `${'e'.repeat(20 * 1024)}@example.test`, password: PASSWORD }),
      );
      assertErrorPage(hugeEmail);
      // Under the form limit but over the password limit: an ordinary failed sign-in.
      const long = await postRaw(
        page.ua,
        page.action,
        form({ csrf: page.csrf, email: user.email, password: 'p'.repeat(5000) }),
      );
      assert.equal(long.res.status, 401);
      assert.equal(errorText(long.html), 'Email or password is incorrect.');
      await assertStillOnLogin(page);
    });

    it('refuses a repeated field with 400', async () => {
      const page = await openLogin(gh, config);
      const base = form({ csrf: page.csrf, email: user.email, password: user.password });
      for (const body of [
        `${base}&email=${encodeURIComponent('attacker@example.test')}`,
        `${base}&password=x`,
        `${base}&csrf=${page.csrf}`,
      ]) {
        assertErrorPage(await postRaw(page.ua, page.action, body), 400);
      }
      await assertStillOnLogin(page);
    });

    it('refuses a body that is not a form with 415', async () => {
      const page = await openLogin(gh, config);
      const fields = { csrf: page.csrf, email: user.email, password: user.password };
      for (const [body, type] of [
        [JSON.stringify(fields), 'application/json'],
        [form(fields), 'text/plain'],
        ['--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--x--', 'multipart/form-data; boundary=x'],
      ] as const) {
        assertErrorPage(await postRaw(page.ua, page.action, body, type), 415);
      }
      await assertStillOnLogin(page);
    });

    it('refuses NUL characters in fields with a 4xx, not a database error', async () => {
      const page = await openLogin(gh, config);
      assertErrorPage(
        await postRaw(
          page.ua,
          page.action,
          form({ csrf: page.csrf, email: 'a\u0000@example.test', password: PASSWORD }),
        ),
        400,
      );
      assertErrorPage(
        await postRaw(
          page.ua,
          page.action,
          form({ csrf: page.csrf, email: user.email, password: `${PASSWORD}\u0000` }),
        ),
        400,
      );
      await assertStillOnLogin(page);
    });

    it('shows an error page for an unknown or finished interaction', async () => {
      const page = await openLogin(gh, config);
      const bogus = `${gh.issuer}/interaction/not-a-real-uid`;
      assertErrorPage(await getPage(new UserAgent(), bogus));
      // With a live interaction cookie, another uid in the URL is still refused.
      assertErrorPage(await getPage(page.ua, bogus));
      assertErrorPage(
        await postRaw(
          page.ua,
          `${bogus}/login/password`,
          form({ csrf: page.csrf, email: user.email, password: user.password }),
        ),
      );
      assertErrorPage(
        await postRaw(
          new UserAgent(),
          page.action,
          form({ csrf: page.csrf, email: user.email, password: user.password }),
        ),
      );

      // Finish the interaction, then come back to it.
      const done = await postRaw(
        page.ua,
        page.action,
        form({ csrf: page.csrf, email: user.email, password: user.password }),
      );
      assert.equal(done.res.status, 303);
      const resumed = await page.ua.follow(done.res.headers.get('location')!, gh.issuer);
      assert.match(resumed.html ?? '', /name="decision"/, 'consent page after sign-in');
      const consentCsrf = hiddenField(resumed.html!, 'csrf');
      const allowed = await page.ua.follow(new URL(formAction(resumed.html!), gh.issuer).toString(), gh.issuer, {
        form: { csrf: consentCsrf, decision: 'allow' },
      });
      assert.ok(allowed.url.startsWith(CALLBACK), allowed.url);
      assertErrorPage(await getPage(page.ua, `${gh.issuer}/interaction/${page.uid}`));
      assertErrorPage(
        await postRaw(page.ua, page.action, form({ csrf: page.csrf, email: user.email, password: user.password })),
      );
    });

    describe('registration', () => {
      async function openRegister() {
        const page = await openLogin(gh, config);
        const href = /<a href="(\/interaction\/[^"]+\/register)">Create an account<\/a>/.exec(page.html)?.[1];
        assert.ok(href, 'login page links to registration');
        const step = await page.ua.follow(new URL(href, gh.issuer).toString(), gh.issuer);
        assert.equal(step.res.status, 200);
        assertSecurityHeaders(step.res);
        const html = step.html!;
        assert.match(html, /<label for="email">Email<\/label>/);
        assert.match(html, /<label for="password">Password<\/label>/);
        assert.match(html, /<button type="submit">Create account<\/button>/);
        return {
          ...page,
          registerAction: new URL(formAction(html), gh.issuer).toString(),
          registerCsrf: hiddenField(html, 'csrf'),
        };
      }

      it('refuses a password under 15 characters with 400 and says so, keeping the other fields', async () => {
        const page = await openRegister();
        const email = `reg-${Date.now()}@example.test`;
        const r = await postRaw(
          page.ua,
          page.registerAction,
          form({ csrf: page.registerCsrf, name: 'Reg', email, password: 'fourteen chars' }),
        );
        assert.equal(r.res.status, 400);
        const message = errorText(r.html) ?? '';
        assert.match(message, /15/);
        assert.match(message, /at least 15 characters/);
        assert.ok(r.html.includes(`value="${email}"`));
        assert.ok(r.html.includes('value="Reg"'));
        const listed = await gh.admin('GET', '/admin/users?limit=200');
        assert.ok(!listed.body.items.some((u: { email: string }) => u.email === email), 'the user was created anyway');
      });

      it('refuses a bad email, a taken email and a missing CSRF token', async () => {
        const page = await openRegister();
        const bad = await postRaw(
          page.ua,
          page.registerAction,
          form({ csrf: page.registerCsrf, email: 'not an email', password: PASSWORD }),
        );
        assert.equal(bad.res.status, 400);
        assert.ok(errorText(bad.html));
        const taken = await postRaw(
          page.ua,
          page.registerAction,
          form({ csrf: page.registerCsrf, email: user.email.toUpperCase(), password: PASSWORD }),
        );
        // A taken address gets the same page as a new one (EMAIL_VERIFICATION=required): the owner is emailed.
        assert.equal(taken.res.status, 200);
        assert.match(taken.html, /<h1>Check your email<\/h1>/);
        assert.equal(errorText(taken.html), undefined);
        assertErrorPage(
          await postRaw(
            page.ua,
            page.registerAction,
            form({ email: `x-${Date.now()}@example.test`, password: PASSWORD }),
          ),
          403,
        );
        // The login form's token is not a registration token.
        assertErrorPage(
          await postRaw(
            page.ua,
            page.registerAction,
            form({ csrf: page.csrf, email: `y-${Date.now()}@example.test`, password: PASSWORD }),
          ),
          403,
        );
      });

      it('a valid registration signs the user in (after the email link) and returns a code to the client', async () => {
        const page = await openRegister();
        const email = `reg-ok-${Date.now()}@example.test`;
        const r = await postRaw(
          page.ua,
          page.registerAction,
          form({ csrf: page.registerCsrf, name: 'New Person', email, password: PASSWORD }),
        );
        assert.equal(r.res.status, 200, r.html.slice(0, 300));
        assert.match(r.html, /<h1>Check your email<\/h1>/);
        const confirm = await page.ua.follow(await linkFrom(gh, email, 'verify-email', '/verify-email'), gh.issuer);
        let step = await page.ua.follow(new URL(formAction(confirm.html!), gh.issuer).toString(), gh.issuer, {
          form: { csrf: hiddenField(confirm.html!, 'csrf'), token: hiddenField(confirm.html!, 'token') },
        });
        assert.match(step.html ?? '', /name="decision"/, 'consent page after registration');
        assert.match(step.html!, /Form Test App/);
        step = await page.ua.follow(new URL(formAction(step.html!), gh.issuer).toString(), gh.issuer, {
          form: { csrf: hiddenField(step.html!, 'csrf'), decision: 'allow' },
        });
        assert.ok(step.url.startsWith(CALLBACK), step.url);
        const callbackUrl = new URL(step.url);
        assert.ok(callbackUrl.searchParams.get('code'));
        const tokens = await redeemCode(config, callbackUrl, page);
        const claims = tokens.claims()!;
        assert.equal(claims.email, email);
        assert.equal(claims.name, 'New Person');
        const stored = await gh.admin('GET', `/admin/users/${claims.sub}`);
        assert.equal(stored.status, 200);
        assert.equal(stored.body.email, email);
      });
    });
  });
}
