import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  addVirtualAuthenticator,
  continuePastRecoveryCodes,
  openPage,
  skipWithoutChromium,
  startCallbackServer,
  tokensAtCallback,
  useChromium,
} from '../support/browser.js';
import { authorizationRequest, type client, createClient, createUser, discover } from '../support/relying-party.js';

/**
 * "Stay signed in" in Chromium: the choice made on the first step survives a second step (here,
 * setting up a passkey when MFA is required), and a passkey sign-in takes the same checkbox.
 * Chromium reports a browser-session cookie with `expires: -1`.
 */
const IDLE = 3600;

describe('"Stay signed in" in a real browser', { skip: skipWithoutChromium }, () => {
  const browser = useChromium();

  for (const backend of backends()) {
    describe(backend, () => {
      let gh: RunningGatehouse;
      let config: client.Configuration;
      let callback: Awaited<ReturnType<typeof startCallbackServer>>;
      let page: Page;
      let closePage: () => Promise<void>;

      before(async () => {
        callback = await startCallbackServer();
        gh = await startGatehouse(backend, { env: { MFA_REQUIRED: 'true', SESSION_IDLE_TTL_SECONDS: String(IDLE) } });
        config = await discover(
          gh,
          await createClient(gh, { client_name: 'Stay App', first_party: true, redirect_uris: [callback.url] }),
        );
        const opened = await openPage(browser());
        page = opened.page;
        closePage = () => opened.context.close();
        await addVirtualAuthenticator(page);
        // Only the buttons start a passkey sign-in (Chromium's authenticator would answer the
        // email field's conditional request at once, before the checkbox could be ticked).
        await page.addInitScript(() => {
          if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
        });
      });
      after(async () => {
        await closePage?.();
        await gh?.destroy();
        await callback?.close();
      });

      async function startSignIn() {
        await page.context().clearCookies();
        const request = await authorizationRequest(config, { redirect_uri: callback.url });
        await page.goto(request.url.toString());
        await page.getByRole('heading', { name: 'Sign in to Stay App' }).waitFor();
        assert.equal(await page.getByLabel('Stay signed in').isChecked(), false, 'unticked by default');
        return request;
      }

      async function sessionCookie() {
        const cookies = await page.context().cookies(gh.issuer);
        const session = cookies.find((c) => c.name === '_session');
        assert.ok(session, 'signed in');
        return session;
      }

      it('keeps the choice through a second step: password, then "Add a passkey"', async () => {
        const user = await createUser(gh);
        const request = await startSignIn();
        await page.getByLabel('Stay signed in').check();
        await page.getByLabel('Email').fill(user.email);
        await page.getByLabel('Password').fill(user.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.getByRole('link', { name: 'Add a passkey' }).click();
        await page.getByLabel('Passkey name').fill('Test browser');
        await page.getByRole('button', { name: 'Add a passkey' }).click();
        await continuePastRecoveryCodes(page, callback.url);
        await tokensAtCallback(page, config, callback.url, request);
        const cookie = await sessionCookie();
        assert.ok(cookie.expires > Date.now() / 1000, 'a persistent cookie');
        assert.ok(cookie.expires <= Date.now() / 1000 + IDLE + 5, 'ending with the session');
      });

      it('a passkey sign-in: unticked gives a browser-session cookie, ticked a persistent one', async () => {
        let request = await startSignIn();
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await tokensAtCallback(page, config, callback.url, request);
        assert.equal((await sessionCookie()).expires, -1, 'a browser-session cookie');

        request = await startSignIn();
        await page.getByLabel('Stay signed in').check();
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await tokensAtCallback(page, config, callback.url, request);
        assert.ok((await sessionCookie()).expires > Date.now() / 1000, 'a persistent cookie');
      });
    });
  }
});
