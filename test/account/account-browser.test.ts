import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { backends } from '../support/backends.js';
import { addVirtualAuthenticator, openPage, skipWithoutChromium, useChromium } from '../support/browser.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { createUser } from '../support/relying-party.js';

/** A fresh browser profile on /account, signed in with the password; collects CSP violations. */
async function signedInPage(
  browser: Browser,
  gh: RunningGatehouse,
  user: { email: string; password: string },
  before?: (page: Page) => Promise<unknown>,
) {
  const { context, page, cspViolations } = await openPage(browser);
  await before?.(page);
  await page.goto(`${gh.issuer}/account`);
  await page.getByRole('heading', { name: 'Sign in to your account' }).waitFor();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  return { context, page, cspViolations };
}

describe('the account page in a real browser', { skip: skipWithoutChromium }, () => {
  const browser = useChromium();

  for (const backend of backends()) {
    describe(backend, () => {
      let gh: RunningGatehouse;
      before(async () => {
        gh = await startGatehouse(backend);
      });
      after(async () => {
        await gh?.destroy();
      });

      it('signs in through the provider and shows each section by its accessible name', async () => {
        const user = await createUser(gh);
        const { context, page, cspViolations } = await signedInPage(browser(), gh, user);
        try {
          assert.equal(new URL(page.url()).pathname, '/account');
          for (const name of ['Authenticator app', 'Passkeys', 'Where you are signed in', 'Connected apps'])
            await page.getByRole('region', { name }).waitFor();
          const sessions = page.getByRole('list', { name: 'Sessions' });
          assert.equal(await sessions.getByRole('listitem').count(), 1);
          assert.equal(await sessions.getByRole('button', { name: 'Sign out' }).count(), 1);
          assert.match((await sessions.textContent()) ?? '', /This device/);
          await page.getByRole('link', { name: 'Sign out' }).waitFor();
          assert.deepEqual(cspViolations, []);

          // The page's own "Sign out" goes through the provider's logout.
          await page.getByRole('link', { name: 'Sign out' }).click();
          await page.getByRole('button', { name: 'Sign out' }).click();
          await page.getByRole('heading', { name: 'Signed out' }).waitFor();
          await page.goto(`${gh.issuer}/account`);
          await page.getByRole('heading', { name: 'Sign in to your account' }).waitFor();
        } finally {
          await context.close();
        }
      });

      it('"Set up authenticator app", "Turn on", the recovery codes, "Generate new recovery codes", "Turn off"', async () => {
        const user = await createUser(gh);
        const { context, page, cspViolations } = await signedInPage(browser(), gh, user);
        try {
          await page.getByRole('link', { name: 'Set up authenticator app' }).click();
          await page.getByRole('img', { name: 'QR code' }).waitFor();
          const secret = ((await page.getByLabel('Setup key').textContent()) ?? '').replace(/\s+/g, '');
          assert.match(secret, /^[A-Z2-7]{32}$/, 'the key as text, base32');
          await page.getByLabel('Authentication code').fill(await generate({ secret }));
          await page.getByRole('button', { name: 'Turn on' }).click();

          const codes = page.getByRole('list', { name: 'Recovery codes' }).locator('li code');
          await codes.first().waitFor();
          assert.equal(await codes.count(), 10);
          const first = await codes.allTextContents();
          await page.getByRole('link', { name: 'Back to your account' }).click();

          await page.getByRole('button', { name: 'Turn off' }).waitFor();
          await page.getByRole('button', { name: 'Generate new recovery codes' }).click();
          await codes.first().waitFor();
          const second = await codes.allTextContents();
          assert.equal(second.length, 10);
          assert.ok(!second.some((c) => first.includes(c)), 'a new set');
          await page.getByRole('link', { name: 'Back to your account' }).click();

          await page.getByRole('button', { name: 'Turn off' }).click();
          await page.getByRole('status').filter({ hasText: 'Authenticator app is off.' }).waitFor();
          await page.getByRole('link', { name: 'Set up authenticator app' }).waitFor();
          assert.deepEqual(cspViolations, []);
        } finally {
          await context.close();
        }
      });

      it('"Add a passkey" with the browser\'s authenticator; listed with "Remove"', async () => {
        const user = await createUser(gh);
        let authenticator: Awaited<ReturnType<typeof addVirtualAuthenticator>> | undefined;
        const { context, page, cspViolations } = await signedInPage(browser(), gh, user, async (p) => {
          authenticator = await addVirtualAuthenticator(p);
        });
        try {
          await page.getByRole('button', { name: 'Add a passkey' }).click();
          await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
          await page.getByLabel('Passkey name').fill('Work laptop');
          await page.getByRole('button', { name: 'Add a passkey' }).click();
          await page.getByRole('list', { name: 'Recovery codes' }).waitFor();
          assert.equal((await authenticator!.credentials()).length, 1, 'the authenticator holds the new passkey');
          await page.getByRole('link', { name: 'Back to your account' }).click();

          const passkeys = page.getByRole('list', { name: 'Passkeys' }).getByRole('listitem');
          assert.equal(await passkeys.count(), 1);
          assert.match((await passkeys.first().textContent()) ?? '', /Work laptop[\s\S]*Created[\s\S]*Last used/);
          await passkeys.first().getByRole('button', { name: 'Remove' }).click();
          await page.getByRole('status').filter({ hasText: 'Passkey removed.' }).waitFor();
          assert.equal(await passkeys.count(), 0);
          assert.deepEqual(cspViolations, []);
        } finally {
          await context.close();
        }
      });
    });
  }
});
