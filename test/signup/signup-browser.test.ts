import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { backends } from '../support/backends.js';
import {
  axeViolations,
  launchChromium,
  openPage,
  skipWithoutChromium,
  startCallbackServer,
  tokensAtCallback,
} from '../support/browser.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  type IdTokenClaims,
  PASSWORD,
  authorizationRequest,
  type client,
  createClient,
  createUser,
  discover,
} from '../support/relying-party.js';
import { linkFrom } from '../support/mailbox.js';

/**
 * Registration and password reset as a person does them in Chromium: real cookies (the
 * interaction's is scoped to its path), real forms, the links from the outbox; every page on
 * the way is checked with axe-core.
 */
describe('register → verify → signed in, forgot → reset (Chromium)', { skip: skipWithoutChromium }, () => {
  const backend = backends()[0]!;
  let gh: RunningGatehouse;
  let config: client.Configuration;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;

  before(async () => {
    gh = await startGatehouse(backend, { env: { GATEHOUSE_REGISTRATION: 'true' } });
    callback = await startCallbackServer();
    config = await discover(gh, await createClient(gh, { client_name: 'Browser App', redirect_uris: [callback.url] }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await callback?.close();
    await gh?.destroy();
  });

  const violations: string[] = [];
  async function axe(page: Page, name: string) {
    for (const v of await axeViolations(browser, await page.content())) violations.push(`${name}: ${v.id} (${v.help})`);
  }

  async function authorize(page: Page) {
    const request = await authorizationRequest(config, {
      redirect_uri: callback.url,
      scope: 'openid email',
      prompt: 'login consent',
    });
    await page.goto(request.url.toString());
    return request;
  }

  it('registers, follows the email link in the same browser and lands signed in at the client', async () => {
    const { context, page, cspViolations } = await openPage(browser);
    const email = `chromium-${Date.now()}@example.test`;
    const request = await authorize(page);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await axe(page, 'register');
    await page.getByLabel('Name').fill('Browser Person');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await axe(page, 'check your email');

    await page.goto(await linkFrom(gh, email, 'verify-email', '/verify-email'));
    await page.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
    await axe(page, 'confirm your email address');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await tokensAtCallback(page, config, callback.url, request);
    const claims = tokens.claims() as IdTokenClaims;
    assert.equal(claims.email, email);
    assert.equal(claims.email_verified, true);
    assert.deepEqual(cspViolations, []);
    await context.close();
  });

  it('"Forgot password?" → email → new password → back to the sign-in → signed in with it', async () => {
    const user = await createUser(gh);
    const { context, page } = await openPage(browser);
    const request = await authorize(page);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await axe(page, 'forgot password');
    await page.getByLabel('Email').fill(user.email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();

    const newPassword = 'another passphrase typed in chromium';
    await page.goto(await linkFrom(gh, user.email, 'password-reset', '/reset-password'));
    await axe(page, 'choose a new password');
    await page.getByLabel('New password').fill('too short');
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('New password').fill(newPassword);
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('heading', { name: 'Your password was reset' }).waitFor();
    await axe(page, 'password reset');
    await page.getByRole('link', { name: 'Sign in' }).click();

    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(newPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await tokensAtCallback(page, config, callback.url, request);
    assert.equal((tokens.claims() as IdTokenClaims).email, user.email);
    await context.close();
  });

  it('a used link shows a clear page (axe-clean) with a way to ask for a new one', async () => {
    const { context, page } = await openPage(browser);
    await page.goto(`${gh.issuer}/reset-password?token=${'x'.repeat(43)}`);
    await page.getByRole('heading', { name: 'This link has expired or was already used' }).waitFor();
    await axe(page, 'link expired');
    await page.getByRole('link', { name: 'Ask for a new link' }).click();
    await page.getByRole('button', { name: 'Send reset link' }).waitFor();
    await axe(page, 'forgot password (standalone)');
    await context.close();
    assert.deepEqual(violations, []);
  });
});
