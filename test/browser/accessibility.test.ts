import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { enrolTotp, linkTo, SignIn } from '../mfa/mfa-flow.js';
import { backends } from '../support/backends.js';
import { type AxeViolation, axeViolations, launchChromium, skipWithoutChromium } from '../support/browser.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { type client, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';

/**
 * Every sign-in and account page that issue 13 adds, checked with axe-core in Chromium. The pages
 * are fetched over HTTP as a person's browser would reach them, then checked as documents (each
 * page's own markup and styles; the axe script is added to the checked copy only).
 */
describe('sign-in and account pages are accessible (axe-core)', { skip: skipWithoutChromium }, () => {
  const backend = backends()[0]!;
  let gh: RunningGatehouse;
  let config: client.Configuration;
  let browser: Browser;
  const pages: Record<string, string> = {};

  before(async () => {
    gh = await startGatehouse(backend, { env: { MFA_REQUIRED: 'true', GATEHOUSE_REGISTRATION: 'true' } });
    config = await discover(gh, await createClient(gh));
    browser = await launchChromium();

    const user = await createUser(gh);
    const first = new SignIn(gh, config);
    const login = await first.open();
    pages['sign-in'] = login.html;
    const registerHref = /href="([^"]*\/register)"/.exec(login.html);
    assert.ok(registerHref, `a "Create an account" link on ${login.html.slice(0, 600)}`);
    pages.register = (await first.get(registerHref[1]!)).html;
    const choice = await first.password(user);
    pages['set up two-step verification'] = choice.html;
    pages['add a passkey'] = (await first.get(linkTo(choice.html, 'Add a passkey'))).html;
    const { enrol, codes } = await enrolTotp(first, user);
    pages['set up authenticator app'] = enrol.html;
    pages['recovery codes'] = codes.html;
    const consent = await first.submit(codes, {});
    pages.consent = consent.html;

    const second = new SignIn(gh, config);
    const code = await second.password(user);
    pages['authentication code'] = code.html;
    const recoveryHref = /href="([^"]*method(?:=|&#61;)recovery_code)"/.exec(code.html);
    assert.ok(recoveryHref, `a "Use a recovery code" link on ${code.html.slice(code.html.indexOf('<main>'))}`);
    pages['recovery code'] = (await second.get(recoveryHref[1]!)).html;
    pages['wrong code'] = (await second.submit(code, { code: '000000' })).html;

    // The account page of the person who signed in first (same browser: the provider's session).
    const account = await first.ua.follow(`${gh.issuer}/account`, gh.issuer);
    pages.account = account.html ?? '';
    pages['page not found'] = (await new UserAgent().follow(`${gh.issuer}/no-such-page`, gh.issuer)).html ?? '';
  });
  after(async () => {
    await browser?.close();
    await gh?.destroy();
  });

  it('collects every page it checks', () => {
    for (const [name, html] of Object.entries(pages)) assert.match(html, /<h1>/, `${name}: a page with a heading`);
    assert.match(pages['set up two-step verification']!, /Set up authenticator app/);
    assert.match(pages['authentication code']!, /Authentication code/);
    assert.match(pages['recovery code']!, /Recovery code/);
    assert.match(pages.account!, /Set up authenticator app|Turn off/);
    assert.match(pages['add a passkey']!, /Add a passkey/);
  });

  /** axe's violations on `html`, checked as a document in Chromium. */
  async function violationsOf(html: string): Promise<AxeViolation[]> {
    // Our own scripts (passkeys) would be fetched from the page's origin: none when checked as a document.
    return axeViolations(browser, html.replace(/<script src="[^"]+" defer><\/script>/g, ''));
  }

  it('finds the violations of a page that has them (the check itself works)', async () => {
    const ids = (await violationsOf('<html><body><img src="x.png"><input name="code"></body></html>')).map((v) => v.id);
    assert.ok(ids.includes('image-alt') && ids.includes('label') && ids.includes('html-has-lang'), ids.join());
  });

  it('has no axe violations on any of them', async () => {
    const found: string[] = [];
    for (const [name, html] of Object.entries(pages))
      for (const v of await violationsOf(html))
        found.push(`${name}: ${v.id} (${v.help}) at ${v.nodes.map((n) => n.html.slice(0, 120)).join(' | ')}`);
    assert.deepEqual(found, []);
  });
});
