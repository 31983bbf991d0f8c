import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { client, createClient, createUser, discover } from '../support/relying-party.js';

/** Debian's Chromium; the suite never downloads a browser. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Fail a stuck step in seconds, not after Playwright's 30 s default. */
const STEP_TIMEOUT_MS = 10_000;

const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`;

/** An authorization request exactly as a relying party builds it with openid-client (PKCE S256). */
async function authorizationRequest(config: client.Configuration, redirectUri: string) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, verifier, state, nonce };
}

/**
 * The relying party's redirect target: a tiny server on a free loopback port that records each
 * callback URL. Not page.route(): Playwright never routes the follow-up request of a redirect
 * (documented), and the authorization response is exactly such a redirect. Not the fixed port
 * 8976 either, so two runs on one machine cannot collide.
 */
async function startCallbackServer() {
  const hits: string[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    // A form_post response arrives as a POST: recorded as the URL with the form in the query.
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      url.search = body;
    }
    if (url.pathname === '/callback') hits.push(url.toString()); // not the browser's /favicon.ico
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>callback</title><p>back at the client</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fresh browser profile and page; collects CSP violations reported on the console. */
async function openBrowserPage(browser: Browser) {
  const context: BrowserContext = await browser.newContext();
  const page: Page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return { context, page, cspViolations };
}

describe('sign-in and consent in a real browser', { skip }, () => {
  let browser: Browser;

  before(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
  });

  for (const backend of backends()) {
    describe(backend, () => {
      let gh: RunningGatehouse;
      let config: client.Configuration;
      let user: { id: string; email: string; password: string };
      let callback: Awaited<ReturnType<typeof startCallbackServer>>;

      before(async () => {
        callback = await startCallbackServer();
        gh = await startGatehouse(backend);
        config = await discover(
          gh,
          await createClient(gh, { client_name: 'Browser Test App', redirect_uris: [callback.url] }),
        );
        user = await createUser(gh);
      });
      after(async () => {
        await gh?.destroy();
        await callback?.close();
      });

      it('signs in by the labelled form, consents, and the client gets a code for this user', async () => {
        const { context, page, cspViolations } = await openBrowserPage(browser);
        const seen = callback.hits.length;
        try {
          const request = await authorizationRequest(config, callback.url);
          await page.goto(request.url.toString());
          await page.getByRole('heading', { name: 'Sign in to Browser Test App' }).waitFor();
          await page.getByLabel('Email').fill(user.email);
          await page.getByLabel('Password').fill(user.password);
          await page.getByRole('button', { name: 'Sign in', exact: true }).click();

          await page.getByRole('heading', { name: 'Allow access' }).waitFor();
          assert.equal(
            await page.locator('strong').first().textContent(),
            'Browser Test App',
            'consent page names the client',
          );
          assert.match(
            // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (rendered text), not the DOM property
            await page.locator('main').innerText(),
            new RegExp(`Signed in as ${user.email.replace(/[.]/g, '\\.')}`),
          );
          await page.getByRole('button', { name: 'Allow' }).click();

          await page.waitForURL((u) => u.href.startsWith(callback.url));
          const hits = callback.hits.slice(seen);
          assert.equal(hits.length, 1, `callback hits: ${hits.join(', ')}`);
          const callbackUrl = new URL(hits[0]!);
          assert.equal(page.url(), callbackUrl.toString(), 'the browser landed on the callback');
          assert.equal(callbackUrl.searchParams.get('state'), request.state);
          assert.equal(callbackUrl.searchParams.get('iss'), gh.issuer);
          assert.ok(callbackUrl.searchParams.get('code'));

          const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
            pkceCodeVerifier: request.verifier,
            expectedState: request.state,
            expectedNonce: request.nonce,
            idTokenExpected: true,
          });
          assert.equal(tokens.claims()!.sub, user.id);
          assert.equal(tokens.claims()!.email, user.email);
          assert.deepEqual(cspViolations, [], 'the pages break their own Content-Security-Policy');
        } finally {
          await context.close();
        }
      });

      it('shows the error on the page after a wrong password, keeps the email, and then accepts the right one', async () => {
        // Its own user: consent given by the first test's user is remembered across browser sessions.
        const user = await createUser(gh);
        const { context, page } = await openBrowserPage(browser);
        const seen = callback.hits.length;
        try {
          const request = await authorizationRequest(config, callback.url);
          await page.goto(request.url.toString());
          await page.getByLabel('Email').fill(user.email);
          await page.getByLabel('Password').fill('not the right passphrase');
          await page.getByRole('button', { name: 'Sign in', exact: true }).click();

          const alert = page.getByRole('alert');
          await alert.waitFor();
          assert.equal((await alert.textContent())?.trim(), 'Email or password is incorrect.');
          assert.equal(await page.getByLabel('Email').inputValue(), user.email, 'the email is kept');
          assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not echoed back');
          assert.equal(callback.hits.length, seen, 'a failed sign-in reached the client');

          await page.getByLabel('Password').fill(user.password);
          await page.getByRole('button', { name: 'Sign in', exact: true }).click();
          await page.getByRole('heading', { name: 'Allow access' }).waitFor();
          await page.getByRole('button', { name: 'Deny' }).click();
          await page.waitForURL((u) => u.href.startsWith(callback.url));
          const callbackUrl = new URL(callback.hits.at(-1)!);
          assert.equal(callback.hits.length, seen + 1);
          assert.equal(callbackUrl.searchParams.get('state'), request.state);
          assert.equal(callbackUrl.searchParams.get('error'), 'access_denied');
          assert.equal(callbackUrl.searchParams.get('code'), null);
        } finally {
          await context.close();
        }
      });

      it('starts from a cross-site form POST to /authorize and gets the code back by form_post', async () => {
        // Its own user: consent given by the tests above is remembered (GRANT_TTL_SECONDS).
        const someone = await createUser(gh);
        const { context, page, cspViolations } = await openBrowserPage(browser);
        const seen = callback.hits.length;
        try {
          const request = await authorizationRequest(config, callback.url);
          request.url.searchParams.set('response_mode', 'form_post');
          // The relying party's page (here an opaque origin): a form POSTed to the authorization endpoint.
          const inputs = [...request.url.searchParams]
            .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`)
            .join('');
          await page.setContent(
            `<form method="post" action="${gh.issuer}/authorize">${inputs}<button>Continue</button></form>`,
          );
          await page.getByRole('button', { name: 'Continue' }).click();
          await page.getByLabel('Email').fill(someone.email);
          await page.getByLabel('Password').fill(someone.password);
          await page.getByRole('button', { name: 'Sign in', exact: true }).click();
          await page.getByRole('button', { name: 'Allow' }).click();

          // The form_post page's auto-submit script runs under its CSP hash and posts to the callback.
          await page.waitForURL((u) => u.href.startsWith(callback.url));
          assert.equal(callback.hits.length, seen + 1);
          const posted = new URL(callback.hits.at(-1)!);
          assert.equal(posted.searchParams.get('state'), request.state);
          const tokens = await client.authorizationCodeGrant(config, posted, {
            pkceCodeVerifier: request.verifier,
            expectedState: request.state,
            expectedNonce: request.nonce,
            idTokenExpected: true,
          });
          assert.equal(tokens.claims()!.sub, someone.id);
          assert.deepEqual(cspViolations, [], 'the pages break their own Content-Security-Policy');
        } finally {
          await context.close();
        }
      });

      it("signs out from the client's end-session URL with this session's id_token_hint, with nothing to click", async () => {
        const bye = callback.url.replace(/\/callback$/, '/bye');
        const app = await discover(
          gh,
          await createClient(gh, {
            client_name: 'Logout App',
            redirect_uris: [callback.url],
            post_logout_redirect_uris: [bye],
          }),
        );
        const someone = await createUser(gh);
        const { context, page, cspViolations } = await openBrowserPage(browser);
        try {
          const request = await authorizationRequest(app, callback.url);
          await page.goto(request.url.toString());
          await page.getByLabel('Email').fill(someone.email);
          await page.getByLabel('Password').fill(someone.password);
          await page.getByRole('button', { name: 'Sign in', exact: true }).click();
          await page.getByRole('button', { name: 'Allow' }).click();
          await page.waitForURL((u) => u.href.startsWith(callback.url));
          const tokens = await client.authorizationCodeGrant(app, new URL(page.url()), {
            pkceCodeVerifier: request.verifier,
            expectedState: request.state,
            expectedNonce: request.nonce,
            idTokenExpected: true,
          });

          await page.goto(
            client
              .buildEndSessionUrl(app, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: bye, state: 'bye' })
              .toString(),
          );
          await page.waitForURL((u) => u.href.startsWith(bye));
          assert.equal(new URL(page.url()).searchParams.get('state'), 'bye');
          assert.deepEqual(cspViolations, [], 'the auto-submitting page breaks its own Content-Security-Policy');
        } finally {
          await context.close();
        }
      });
    });
  }
});
