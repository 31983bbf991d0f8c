import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import {
  openPage,
  skipWithoutChromium,
  startCallbackServer,
  tokensAtCallback,
  useChromium,
} from '../support/browser.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  authorizationRequest,
  client,
  createClient,
  createUser,
  discover,
  redeemCode,
} from '../support/relying-party.js';

/** An authorization request exactly as a relying party builds it with openid-client (PKCE S256). */
const requestTo = (config: client.Configuration, redirectUri: string) =>
  authorizationRequest(config, { redirect_uri: redirectUri, scope: 'openid email profile' });

describe('sign-in and consent in a real browser', { skip: skipWithoutChromium }, () => {
  const browser = useChromium();

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
        const { context, page, cspViolations } = await openPage(browser());
        const seen = callback.hits.length;
        try {
          const request = await requestTo(config, callback.url);
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

          const tokens = await redeemCode(config, callbackUrl, request);
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
        const { context, page } = await openPage(browser());
        const seen = callback.hits.length;
        try {
          const request = await requestTo(config, callback.url);
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
        const { context, page, cspViolations } = await openPage(browser());
        const seen = callback.hits.length;
        try {
          const request = await requestTo(config, callback.url);
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
          const tokens = await redeemCode(config, posted, request);
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
        const { context, page, cspViolations } = await openPage(browser());
        try {
          const request = await requestTo(app, callback.url);
          await page.goto(request.url.toString());
          await page.getByLabel('Email').fill(someone.email);
          await page.getByLabel('Password').fill(someone.password);
          await page.getByRole('button', { name: 'Sign in', exact: true }).click();
          await page.getByRole('button', { name: 'Allow' }).click();
          const tokens = await tokensAtCallback(page, app, callback.url, request);

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
