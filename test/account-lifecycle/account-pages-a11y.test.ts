import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { formsWithButton, openAccount, startAccountGatehouse, submit } from '../account/account-agent.js';
import { backends } from '../support/backends.js';
import { axeViolations, launchChromium, skipWithoutChromium } from '../support/browser.js';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { createUser } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';
import { linkIn, mailTo } from '../support/mailbox.js';

/**
 * The account pages this part of issue 14 adds (password, email, deletion), fetched over HTTP
 * as a browser without JavaScript reaches them, then checked with axe-core in Chromium.
 */
describe('account change pages are accessible (axe-core)', { skip: skipWithoutChromium }, () => {
  const backend = backends()[0]!;
  let gh: RunningGatehouse;
  let browser: Browser;
  const pages: Record<string, string> = {};

  before(async () => {
    gh = await startAccountGatehouse(backend);
    browser = await launchChromium();
    const user = await createUser(gh);
    const ua = new UserAgent();
    pages.account = (await openAccount(gh, ua, user)).html!;
    const get = async (path: string) => (await ua.follow(`${gh.issuer}${path}`, gh.issuer)).html!;

    pages['change password'] = await get('/account/password');
    const [password] = formsWithButton(pages['change password'], 'Change password');
    pages['change password, wrong'] = (await submit(gh, ua, password!, { current_password: 'x', new_password: 'y' }))
      .html!;

    pages['change email'] = await get('/account/email');
    const [email] = formsWithButton(pages['change email'], 'Change email');
    pages['change email, invalid'] = (await submit(gh, ua, email!, { new_email: 'not an address' })).html!;
    const newEmail = `a11y-${Math.random().toString(36).slice(2)}@example.test`;
    pages['check your new inbox'] = (await submit(gh, ua, email!, { new_email: newEmail })).html!;
    const [mail] = await mailTo(gh, newEmail, { template: 'verify-new-email' });
    const link = linkIn(mail!, `${gh.issuer}/account/email/verify?token=`).href;
    pages['confirm new email'] = (await new UserAgent().follow(link, gh.issuer)).html!;
    const [confirm] = formsWithButton(pages['confirm new email'], 'Confirm new email');
    pages['email changed'] = (await submit(gh, new UserAgent(), confirm!)).html!;
    pages['link expired'] = (await new UserAgent().follow(link, gh.issuer)).html!;

    pages['delete account'] = await get('/account/delete');
    const [remove] = formsWithButton(pages['delete account'], 'Delete account');
    pages['delete account, unconfirmed'] = (await submit(gh, ua, remove!)).html!;
    pages['account deleted'] = (await submit(gh, ua, remove!, { confirm: 'yes' })).html!;
  });
  after(async () => {
    await browser?.close();
    await gh?.destroy();
  });

  it('collects every page it checks', () => {
    for (const [name, html] of Object.entries(pages)) assert.match(html, /<h1>/, `${name}: a page with a heading`);
    assert.match(pages['account deleted']!, /Your account was deleted/);
    assert.match(pages['email changed']!, /Email address changed/);
  });

  it('has no axe violations on any of them', async () => {
    const found: string[] = [];
    for (const [name, html] of Object.entries(pages))
      for (const v of await axeViolations(browser, html))
        found.push(`${name}: ${v.id} (${v.help}) at ${v.nodes.map((n) => n.html.slice(0, 120)).join(' | ')}`);
    assert.deepEqual(found, []);
  });
});
