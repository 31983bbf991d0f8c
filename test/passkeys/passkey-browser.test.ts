import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { ACR } from '../../src/domain/authn/authentication-policy.js';
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
import {
  type AuthorizationRequest,
  authorizationRequest,
  type client,
  createClient,
  createUser,
  discover,
  type IdTokenClaims,
} from '../support/relying-party.js';

/**
 * Passkeys in Chromium with its virtual authenticator (CDP WebAuthn): the pages, our script and
 * @simplewebauthn/browser served from our origin under `script-src 'self'`. One browser profile
 * and one authenticator go through the scenarios in order: set up during a sign-in that requires
 * MFA, passwordless, second factor after the password; then a captured answer replayed, and a
 * counter that went backwards. The server runs at http://localhost:<port> (an RP ID cannot be an IP).
 */
const sorted = (v: string[] | undefined) => [...(v ?? [])].sort();
const NOT_VERIFIED = 'Your passkey could not be verified. Try again, or sign in another way.';

describe('passkeys in a real browser', { skip: skipWithoutChromium }, () => {
  const browser = useChromium();

  for (const backend of backends()) {
    describe(backend, () => {
      let gh: RunningGatehouse;
      let config: client.Configuration;
      let callback: Awaited<ReturnType<typeof startCallbackServer>>;
      let user: { id: string; email: string; password: string };
      let page: Page;
      let closePage: () => Promise<void>;
      let cspViolations: string[];

      before(async () => {
        callback = await startCallbackServer();
        gh = await startGatehouse(backend, { env: { MFA_REQUIRED: 'true' } });
        config = await discover(
          gh,
          await createClient(gh, { client_name: 'Passkey App', first_party: true, redirect_uris: [callback.url] }),
        );
        user = await createUser(gh);
        const opened = await openPage(browser());
        ({ page, cspViolations } = opened);
        closePage = () => opened.context.close();
        await addVirtualAuthenticator(page);
      });
      after(async () => {
        await closePage?.();
        await gh?.destroy();
        await callback?.close();
      });

      /** An authorization request of the Passkey App (PKCE S256, state, nonce). */
      const newRequest = () => authorizationRequest(config, { redirect_uri: callback.url });
      /** Waits for the callback and redeems its code; the ID token's claims. */
      const claimsAtCallback = async (request: AuthorizationRequest): Promise<IdTokenClaims> =>
        (await tokensAtCallback(page, config, callback.url, request)).claims() as IdTokenClaims;

      /** A new authorization request in a browser that has no session with Gatehouse. */
      async function startSignIn() {
        await page.context().clearCookies();
        const request = await newRequest();
        await page.goto(request.url.toString());
        await page.getByRole('heading', { name: 'Sign in to Passkey App' }).waitFor();
        return request;
      }

      async function signInWithPassword() {
        await page.getByLabel('Email').fill(user.email);
        await page.getByLabel('Password').fill(user.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      }

      it('(a) MFA required: password, then "Add a passkey"; the sign-in finishes phishing-resistant', async () => {
        const request = await startSignIn();
        await signInWithPassword();
        await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
        await page.getByRole('link', { name: 'Add a passkey' }).click();
        await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
        await page.getByLabel('Passkey name').fill('Test browser');
        await page.getByRole('button', { name: 'Add a passkey' }).click();

        await continuePastRecoveryCodes(page, callback.url, async () => {
          assert.equal(await page.getByRole('list', { name: 'Recovery codes' }).locator('code').count(), 10);
        });
        const claims = await claimsAtCallback(request);
        assert.equal(claims.sub, user.id);
        assert.equal(claims.acr, ACR.phishingResistant);
        assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'pwd', 'user']);

        const rows = await gh.instance.database.db()('credentials').where({ user_id: user.id, type: 'passkey' });
        assert.equal(rows.length, 1);
        assert.equal(rows[0].name, 'Test browser');
        assert.deepEqual(cspViolations, [], 'the pages break their own Content-Security-Policy');
      });

      it('(b1) conditional UI: the email field offers the passkey and it signs in', async () => {
        // Chromium's virtual authenticator answers a conditional request at once (a person would
        // pick the passkey from the email field's autofill): the page signs in with no click.
        await page.context().clearCookies();
        const request = await newRequest();
        await page.goto(request.url.toString());
        const claims = await claimsAtCallback(request);
        assert.equal(claims.sub, user.id);
        assert.equal(claims.acr, ACR.phishingResistant);
        assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'user']);

        // From here on, as in a browser without autofill for passkeys: only the buttons start one.
        await page.addInitScript(() => {
          if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
        });
      });

      it('(b2) signs in with "Sign in with a passkey" alone: acr phishing-resistant, amr user and mfa', async () => {
        const request = await startSignIn();
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        const claims = await claimsAtCallback(request);
        assert.equal(claims.sub, user.id);
        assert.equal(claims.acr, ACR.phishingResistant);
        assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'user']);
        assert.deepEqual(cspViolations, []);
      });

      it('(c) uses the passkey as the second factor after the password: "Use a passkey"', async () => {
        const request = await startSignIn();
        await signInWithPassword();
        await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
        await page.getByRole('button', { name: 'Use a passkey' }).click();
        const claims = await claimsAtCallback(request);
        assert.equal(claims.sub, user.id);
        assert.equal(claims.acr, ACR.phishingResistant);
        assert.deepEqual(sorted(claims.amr), ['hwk', 'mfa', 'pwd', 'user']);
      });

      it('(d) a captured answer cannot be used twice', async () => {
        await startSignIn();
        // The browser's POST is held back (in the route handler, so it cannot slip through before
        // unrouting); the "attacker" then sends it twice with the same cookies.
        let hold!: (request: { url: string; body: string }) => void;
        const held = new Promise<{ url: string; body: string }>((resolve) => {
          hold = resolve;
        });
        await page.route('**/login/passkey', async (route) => {
          await route.abort();
          hold({ url: route.request().url(), body: route.request().postData() ?? '' });
        });
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        const captured = await held;
        await page.unroute('**/login/passkey');
        assert.match(captured.body, /credential=%7B/, 'the browser posted its answer');
        const send = () =>
          page.context().request.post(captured.url, {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            data: captured.body,
            maxRedirects: 0,
          });
        const first = await send();
        assert.equal(first.status(), 303, 'the first use signs in');
        const replay = await send();
        assert.equal(replay.status(), 400);
        assert.match(await replay.text(), /The passkey request expired\. Try again\./);
      });

      it('(e) a signature counter below the stored one is refused and audited', async () => {
        // As if a clone of this passkey had signed in many times: the real one is now behind.
        await gh.instance.database.db()('credentials').where({ user_id: user.id }).update({ counter: 1_000_000 });
        await startSignIn();
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        const alert = page.getByRole('alert').filter({ hasText: NOT_VERIFIED });
        await alert.waitFor();
        const audited = await gh.admin('GET', `/admin/audit-events?type=passkey.counter_regression&user=${user.id}`);
        assert.equal(audited.body.items.length, 1);
        // The page offers the passkey again with a fresh challenge (the refused one was used up).
        await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
      });

      it('without JavaScript: no passkey button, the password works, the second-factor page says why', async () => {
        const noJs = await openPage(browser(), { javaScriptEnabled: false });
        try {
          const request = await newRequest();
          await noJs.page.goto(request.url.toString());
          await noJs.page.getByRole('heading', { name: 'Sign in to Passkey App' }).waitFor();
          assert.equal(await noJs.page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 0);
          await noJs.page.getByLabel('Email').fill(user.email);
          await noJs.page.getByLabel('Password').fill(user.password);
          await noJs.page.getByRole('button', { name: 'Sign in', exact: true }).click();
          await noJs.page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
          assert.equal(await noJs.page.getByRole('button', { name: 'Use a passkey' }).count(), 0);
          await noJs.page
            .getByText('To use your passkey, open this page in a browser that supports passkeys')
            .waitFor();
          await noJs.page.getByRole('button', { name: 'Cancel' }).click();
          await noJs.page.waitForURL((u) => u.href.startsWith(callback.url));
          assert.equal(new URL(noJs.page.url()).searchParams.get('error'), 'access_denied');

          // Someone with nothing set up yet: the "Add a passkey" page explains, and "Back" leads back.
          const newcomer = await createUser(gh);
          await noJs.page.goto((await newRequest()).url.toString());
          await noJs.page.getByLabel('Email').fill(newcomer.email);
          await noJs.page.getByLabel('Password').fill(newcomer.password);
          await noJs.page.getByRole('button', { name: 'Sign in', exact: true }).click();
          await noJs.page.getByRole('link', { name: 'Add a passkey' }).click();
          await noJs.page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
          assert.equal(await noJs.page.getByRole('button', { name: 'Add a passkey' }).count(), 0);
          await noJs.page.getByText('This browser cannot create a passkey here').waitFor();
          await noJs.page.getByRole('link', { name: 'Back' }).click();
          await noJs.page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
        } finally {
          await noJs.context.close();
        }
      });

      it('with JavaScript but without WebAuthn: the passkey button stays hidden', async () => {
        const plain = await openPage(browser());
        try {
          await plain.page.addInitScript(() => {
            delete (window as { PublicKeyCredential?: unknown }).PublicKeyCredential;
          });
          const request = await newRequest();
          await plain.page.goto(request.url.toString());
          await plain.page.getByRole('heading', { name: 'Sign in to Passkey App' }).waitFor();
          await plain.page.waitForLoadState('load');
          assert.equal(await plain.page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 0);
          assert.equal(await plain.page.getByRole('button', { name: 'Sign in', exact: true }).count(), 1);
          assert.deepEqual(plain.cspViolations, []);
        } finally {
          await plain.context.close();
        }
      });
    });
  }
});
