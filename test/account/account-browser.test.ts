import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { createUser } from '../support/relying-party.js';

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
const STEP_TIMEOUT_MS = 10_000;
const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`;

/** A fresh browser profile on /account, signed in with the password; collects CSP violations. */
async function signedInPage(browser: Browser, gh: RunningGatehouse, user: { email: string; password: string }) {
  const context = await browser.newContext();
  const page: Page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  await page.goto(`${gh.issuer}/account`);
  await page.getByRole('heading', { name: 'Sign in to your account' }).waitFor();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  return { context, page, cspViolations };
}

describe('the account page in a real browser', { skip }, () => {
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
      before(async () => {
        gh = await startGatehouse(backend);
      });
      after(async () => {
        await gh?.destroy();
      });

      it('signs in through the provider and shows each section by its accessible name', async () => {
        const user = await createUser(gh);
        const { context, page, cspViolations } = await signedInPage(browser, gh, user);
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
        const { context, page, cspViolations } = await signedInPage(browser, gh, user);
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
    });
  }
});
