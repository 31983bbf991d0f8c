import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { backends } from '../support/backends.js';
import {
  axeViolations,
  openPage,
  skipWithoutChromium,
  startCallbackServer,
  tokensAtCallback,
  useChromium,
} from '../support/browser.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  authorizationRequest,
  type client,
  createClient,
  createUser,
  discover,
  type IdTokenClaims,
} from '../support/relying-party.js';
import { codeIn, lastMail, linkIn } from '../support/mailbox.js';

/**
 * The waiting page refreshes itself so it works without JavaScript (meta refresh); axe's
 * `meta-refresh` rule objects to any timed refresh. The page says that it carries on by itself,
 * keeps a button to check at once, and a link away ("Use another way to sign in").
 */
const ACCEPTED = new Set(['meta-refresh']);

/** axe's violations on the page as it is now (its own markup and styles). */
async function violations(page: Page): Promise<string[]> {
  // Without its refresh, or the checked copy would navigate away mid-check.
  const html = (await page.content()).replace(/<meta http-equiv="refresh"[^>]*>/, '');
  const found = await axeViolations(page.context().browser()!, html);
  return found.filter((v) => !ACCEPTED.has(v.id)).map((v) => `${v.id}: ${v.help}`);
}

describe('email sign-in in Chromium', { skip: skipWithoutChromium }, () => {
  const browser = useChromium();
  let gh: RunningGatehouse;
  let config: client.Configuration;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;

  before(async () => {
    callback = await startCallbackServer();
    gh = await startGatehouse(backends()[0]!, { env: { EMAIL_SIGN_IN: 'on', EMAIL_SIGN_IN_LINK: 'on' } });
    config = await discover(
      gh,
      await createClient(gh, { client_name: 'Mail App', first_party: true, redirect_uris: [callback.url] }),
    );
  });
  after(async () => {
    await gh?.destroy();
    await callback?.close();
  });

  it('code: Email field, "Email me a sign-in code", "Sign-in code", "Verify"; accessible pages', async () => {
    const user = await createUser(gh);
    const { page, context, cspViolations } = await openPage(browser());
    try {
      const request = await authorizationRequest(config, { redirect_uri: callback.url });
      await page.goto(request.url.toString());
      await page.getByRole('heading', { name: 'Sign in to Mail App' }).waitFor();
      assert.deepEqual(await violations(page), [], 'sign-in page');
      await page.getByLabel('Email').fill(user.email);
      await page.getByRole('button', { name: 'Email me a sign-in code' }).click();
      await page.getByRole('heading', { name: 'Check your email' }).waitFor();
      assert.deepEqual(await violations(page), [], 'code page');
      const code = codeIn(await lastMail(gh, user.email, 'sign-in-code'));
      await page.getByLabel('Sign-in code').fill('000000' === code ? '111111' : '000000');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
      assert.deepEqual(await violations(page), [], 'wrong code page');
      await page.getByLabel('Sign-in code').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      const claims = (await tokensAtCallback(page, config, callback.url, request)).claims() as IdTokenClaims;
      assert.equal(claims.sub, user.id);
      assert.deepEqual(claims.amr, ['email']);
      assert.deepEqual(cspViolations, []);
    } finally {
      await context.close();
    }
  });

  it('link: the waiting page carries on by itself once another browser confirms the link', async () => {
    const user = await createUser(gh);
    const asking = await openPage(browser());
    const other = await openPage(browser());
    try {
      const { page } = asking;
      const request = await authorizationRequest(config, { redirect_uri: callback.url });
      await page.goto(request.url.toString());
      await page.getByLabel('Email').fill(user.email);
      await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
      await page.getByText('Waiting for the link to be opened').waitFor();
      assert.deepEqual(await violations(page), [], 'waiting page');

      await other.page.goto(linkIn(await lastMail(gh, user.email, 'sign-in-link'), '/sign-in-link').href);
      assert.deepEqual(await violations(other.page), [], 'confirm page');
      await other.page.getByRole('button', { name: 'Yes, sign me in there' }).click();
      await other.page.getByRole('heading', { name: 'You are signed in on the other device' }).waitFor();
      assert.deepEqual(await violations(other.page), [], 'approved page');
      assert.deepEqual(await other.context.cookies(), [], 'the other browser holds no cookie of ours');

      const claims = (await tokensAtCallback(page, config, callback.url, request)).claims() as IdTokenClaims;
      assert.equal(claims.sub, user.id);
      assert.deepEqual(claims.amr, ['email']);
    } finally {
      await asking.context.close();
      await other.context.close();
    }
  });
});
