import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Request } from 'playwright-core';
import { backends } from '../support/backends.js';
import {
  axeViolations,
  launchChromium,
  openPage,
  skipWithoutChromium,
  startCallbackServer,
} from '../support/browser.js';
import { type RunningGatehouse, startGatehouse } from '../support/gatehouse.js';
import {
  type AuthorizationRequest,
  authorizationRequest,
  type client,
  createClient,
  discover,
  type IdTokenClaims,
  redeemCode,
} from '../support/relying-party.js';
import { type AppleUpstream, newApplePerson, startAppleUpstream } from './support/apple-upstream.js';
import { TestSamlIdp } from './support/saml-idp.js';

const FEDERATION_COOKIE = 'gatehouse.federation';

/**
 * Federated sign-in in real Chromium: the SAML IdP and the Apple-shaped upstream listen on
 * 127.0.0.1, Gatehouse's issuer is on localhost — another site — so their auto-posting forms reach
 * the ACS / form_post callback as cross-site POSTs without the SameSite=Lax binding cookie, and
 * Gatehouse's bounce to the same-site GET must bring it back. Also the failure page and the sign-in
 * page's "Continue with <name>" button (axe, keyboard).
 */
describe('federation sign-in in Chromium', { skip: skipWithoutChromium }, () => {
  const backend = backends()[0]!;
  let gh: RunningGatehouse;
  let idp: TestSamlIdp;
  let up: AppleUpstream;
  let config: client.Configuration;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let n = 0;
  const uniqueEmail = () => `fedbrowser-${Date.now()}-${n++}@example.test`;

  before(async () => {
    [gh, idp, up, callback, browser] = await Promise.all([
      startGatehouse(backend, { env: { GATEHOUSE_KEK: randomBytes(32).toString('base64url') } }),
      TestSamlIdp.start(),
      startAppleUpstream(),
      startCallbackServer(),
      launchChromium(),
    ]);
    config = await discover(gh, await createClient(gh, { client_name: 'Browser App', redirect_uris: [callback.url] }));
    const saml = await gh.admin('POST', '/admin/connections', {
      type: 'saml',
      name: 'Acme SSO',
      slug: 'acme',
      idp_metadata_xml: idp.metadata,
      email_verified: true,
    });
    assert.equal(saml.status, 201, JSON.stringify(saml.body));
    const apple = await gh.admin('POST', '/admin/connections', {
      type: 'oidc',
      preset: 'apple',
      name: 'Apple',
      issuer: up.issuer,
      client_id: up.clientId,
      apple_team_id: up.teamId,
      apple_key_id: up.keyId,
      client_secret: up.p8,
    });
    assert.equal(apple.status, 201, JSON.stringify(apple.body));
  });
  after(async () => {
    await browser?.close();
    await callback?.close();
    await gh?.destroy();
    await idp?.close();
    await up?.close();
  });

  it('the upstreams are on another site than Gatehouse', () => {
    assert.equal(new URL(gh.issuer).hostname, 'localhost');
    assert.equal(new URL(idp.ssoUrl).hostname, '127.0.0.1');
    assert.equal(new URL(up.issuer).hostname, '127.0.0.1');
  });

  /** Every request the page makes, with the headers Chromium really sent (cookies included). */
  function recordRequests(page: Page) {
    const seen: Request[] = [];
    page.on('request', (r) => {
      seen.push(r);
    });
    return async (method: string, path: RegExp) => {
      const found = seen.filter(
        (r) => r.method() === method && path.test(new URL(r.url()).pathname + new URL(r.url()).search),
      );
      assert.equal(found.length, 1, `one ${method} ${path}: ${seen.map((r) => `${r.method()} ${r.url()}`).join('\n')}`);
      const headers = await found[0]!.allHeaders();
      return { url: found[0]!.url(), headers, cookie: headers.cookie ?? '' };
    };
  }

  async function authorize(page: Page) {
    const request = await authorizationRequest(config, { redirect_uri: callback.url, scope: 'openid email' });
    await page.goto(request.url.toString());
    await page.getByRole('heading', { name: 'Sign in to Browser App' }).waitFor();
    return request;
  }

  /** Allows on the consent page if it is shown, then the code at the client is redeemed. */
  async function tokensAtClient(page: Page, request: AuthorizationRequest) {
    const atCallback = (u: URL) => u.href.startsWith(callback.url);
    await Promise.race([
      page.waitForURL(atCallback).catch(() => undefined),
      page
        .getByRole('heading', { name: 'Allow access' })
        .waitFor()
        .catch(() => undefined),
    ]);
    if (!page.url().startsWith(callback.url)) await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(atCallback);
    const tokens = await redeemCode(config, new URL(page.url()), request);
    return tokens.claims() as IdTokenClaims;
  }

  it('SAML: "Continue with" → the IdP → a cross-site POST to the ACS → the bounce with the binding cookie → tokens', async () => {
    const email = uniqueEmail();
    idp.signInAs = { user: { nameId: `nid-${email}`, email, name: 'Sam L' } };
    const { context, page, cspViolations } = await openPage(browser);
    const requests = recordRequests(page);
    try {
      const request = await authorize(page);
      await page.getByRole('button', { name: 'Continue with Acme SSO' }).click();
      const claims = await tokensAtClient(page, request);
      assert.ok(claims.amr?.includes('fed'), `amr ${claims.amr}`);
      assert.equal(claims.email, email);

      const sso = await requests('GET', /^\/sso\?SAMLRequest=/);
      assert.ok(sso.url.startsWith(idp.ssoUrl));
      const acs = await requests('POST', /^\/saml\/acme\/acs$/);
      assert.equal(acs.headers.origin, idp.base, 'posted by the IdP page');
      assert.doesNotMatch(acs.cookie, new RegExp(FEDERATION_COOKIE), 'a cross-site POST carries no Lax cookie');
      const resume = await requests('GET', /^\/federation\/acme\/callback\?resume=/);
      assert.match(resume.cookie, new RegExp(`${FEDERATION_COOKIE}=`), 'the same-site GET carries the binding cookie');
      assert.deepEqual(cspViolations, []);
    } finally {
      await context.close();
    }
  });

  it('Apple: the auto-submitting form_post arrives cross-site, is bounced once and signs in', async () => {
    up.person = newApplePerson();
    const { context, page, cspViolations } = await openPage(browser);
    const requests = recordRequests(page);
    try {
      const request = await authorize(page);
      await page.getByRole('button', { name: 'Continue with Apple' }).click();
      const claims = await tokensAtClient(page, request);
      assert.ok(claims.amr?.includes('fed'), `amr ${claims.amr}`);
      assert.equal(claims.email, up.person.email);

      const authorizeAtApple = await requests('GET', /^\/auth\/authorize\?/);
      assert.equal(new URL(authorizeAtApple.url).searchParams.get('response_mode'), 'form_post');
      const post = await requests('POST', /^\/federation\/apple\/callback$/);
      assert.equal(post.headers.origin, up.issuer);
      assert.doesNotMatch(post.cookie, new RegExp(FEDERATION_COOKIE));
      const resume = await requests('GET', /^\/federation\/apple\/callback\?resume=/);
      assert.match(resume.cookie, new RegExp(`${FEDERATION_COOKIE}=`));
      assert.deepEqual(cspViolations, []);
    } finally {
      await context.close();
    }
  });

  it('a refused SAML response (IdP status not Success, expired) ends on a 400 page with a way back, axe-clean', async () => {
    const cases = [
      { status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' },
      { notBefore: new Date(Date.now() - 900_000), notOnOrAfter: new Date(Date.now() - 600_000) },
    ];
    for (const options of cases) {
      const email = uniqueEmail();
      idp.signInAs = { user: { nameId: email, email }, options };
      const { context, page, cspViolations } = await openPage(browser);
      try {
        await authorize(page);
        const landed = page.waitForResponse((r) => /\/federation\/acme\/callback\?resume=/.test(r.url()));
        await page.getByRole('button', { name: 'Continue with Acme SSO' }).click();
        const res = await landed;
        assert.equal(res.status(), 400, JSON.stringify(options));
        await page.getByRole('heading', { level: 1 }).waitFor();
        // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (rendered text)
        const text = await page.locator('main').innerText();
        const alert = (await page.getByRole('alert').textContent())?.trim() ?? '';
        assert.match(
          alert,
          /^Signing in with the other service did not work.*Start signing in again/,
          'says what to do',
        );
        assert.doesNotMatch(alert, /application is not valid/, 'does not blame the app');
        assert.doesNotMatch(text, /Error:|at .*\.(ts|js):\d+/, 'no stack trace');
        const back = page.getByRole('link', { name: 'Start again' });
        assert.equal(await back.getAttribute('href'), '/');
        assert.deepEqual(
          (await axeViolations(browser, await page.content())).map((v) => `${v.id} (${v.help})`),
          [],
          'the failure page is axe-clean',
        );
        assert.deepEqual(cspViolations, []);
        await back.click();
        await page.waitForURL((u) => u.origin === gh.issuer && u.pathname === '/');
        assert.equal(
          callback.hits.some((h) => h.includes(email)),
          false,
        );
      } finally {
        await context.close();
      }
    }
  });

  it('the sign-in page with a SAML button is axe-clean and signs in with the keyboard alone', async () => {
    const email = uniqueEmail();
    idp.signInAs = { user: { nameId: email, email } };
    const { context, page } = await openPage(browser);
    try {
      const request = await authorize(page);
      assert.deepEqual(
        (await axeViolations(browser, await page.content())).map((v) => `${v.id} (${v.help})`),
        [],
        'the sign-in page is axe-clean',
      );
      const button = page.getByRole('button', { name: 'Continue with Acme SSO' });
      let tabs = 0;
      while (!(await button.evaluate((b) => b === document.activeElement))) {
        assert.ok(++tabs <= 20, 'Tab reaches "Continue with Acme SSO"');
        await page.keyboard.press('Tab');
      }
      await page.keyboard.press('Enter');
      const claims = await tokensAtClient(page, request);
      assert.equal(claims.email, email);
      assert.ok(claims.amr?.includes('fed'));
    } finally {
      await context.close();
    }
  });
});
