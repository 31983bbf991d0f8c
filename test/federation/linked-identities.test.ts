import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { SqlConnectionRepository } from '../../src/storage/repositories/connections-repository.js';
import { SqlFederatedIdentityRepository } from '../../src/storage/repositories/federated-identities-repository.js';
import { auditEvents, formsWithButton, openAccount, startAccountGatehouse, submit } from '../account/account-agent.js';
import { backends } from '../support/backends.js';
import { axeViolations, launchChromium, skipWithoutChromium } from '../support/browser.js';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { createUser } from '../support/relying-party.js';
import { UserAgent } from '../support/user-agent.js';

/** A connection row written straight through the repository (the connections API is another part). */
async function insertConnection(gh: RunningGatehouse, name: string) {
  const id = randomUUID();
  return new SqlConnectionRepository(gh.instance.database).insert({
    id,
    type: 'oidc',
    slug: `${name.toLowerCase().replace(/\W+/g, '-')}-${id.slice(0, 8)}`,
    name,
    enabled: true,
    domains: [],
    enforceSso: false,
    jit: true,
    linkExisting: 'prompt',
    trustedMfa: false,
    settings: { issuer: 'https://idp.example.test', client_id: 'gatehouse', scopes: ['openid', 'email'] },
    secretSealed: null,
  });
}

async function link(gh: RunningGatehouse, userId: string, connectionId: string) {
  return new SqlFederatedIdentityRepository(gh.instance.database).insert({
    id: randomUUID(),
    connectionId,
    userId,
    subject: `sub-${randomUUID()}`,
    email: 'someone@idp.example.test',
  });
}

/** Takes the account's password away, as for an account created by a first federated sign-in. */
async function dropPassword(gh: RunningGatehouse, userId: string) {
  await gh.instance.database.db()('credentials').where({ user_id: userId, type: 'password' }).delete();
}

const linkedSection = (html: string) =>
  html.slice(html.indexOf('id="linked-heading"'), html.indexOf('</section>', html.indexOf('id="linked-heading"')));

for (const backend of backends()) {
  describe(`linked accounts (${backend})`, () => {
    let gh: RunningGatehouse;
    const clock = { offsetMs: 0 };

    before(async () => {
      gh = await startAccountGatehouse(backend, clock);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('the account page lists linked accounts; "Unlink" needs a recent sign-in, then removes the link', async () => {
      const user = await createUser(gh);
      const acme = await insertConnection(gh, 'Acme SSO');
      await link(gh, user.id, acme.id);
      const ua = new UserAgent();
      const page = await openAccount(gh, ua, user);
      assert.match(page.html!, /<h2 id="linked-heading">Linked accounts<\/h2>/);
      const section = linkedSection(page.html!);
      assert.match(section, /<strong>Acme SSO<\/strong>/);
      assert.match(section, /Linked <time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{1,2} \w+ \d{4}, \d\d:\d\d UTC<\/time>/);
      const [unlink] = formsWithButton(section, 'Unlink');
      assert.ok(unlink?.fields.csrf, 'a POST form with its CSRF token');
      assert.equal(unlink.method, 'post');

      // Without the CSRF token: refused.
      const forged = await ua.request(new URL(unlink.action, gh.issuer).toString(), { form: {} });
      assert.equal(forged.status, 403);

      clock.offsetMs = 6 * 60_000;
      try {
        const stale = await submit(gh, ua, unlink);
        assert.match(stale.url, /\/account\/reauthenticate\?/, 'a sign-in grown old asks to confirm it is you');
      } finally {
        clock.offsetMs = 0;
      }
      const done = await submit(gh, ua, unlink);
      assert.equal(done.url, `${gh.issuer}/account?done=identity-unlinked`);
      assert.match(done.html!, /Account unlinked\. You can no longer sign in with it\./);
      assert.match(linkedSection(done.html!), /No linked accounts\./);
      assert.doesNotMatch(linkedSection(done.html!), /Acme SSO/);

      const [event] = await auditEvents(gh, 'identity.unlinked', user.id);
      assert.equal(event?.actor, `user:${user.id}`);
      assert.equal(event?.data?.connection_id, acme.id);
      assert.equal(event?.data?.by, 'user');
    });

    it('refuses to unlink the only way in, and says why instead of offering "Unlink"', async () => {
      const user = await createUser(gh);
      const [one, two] = [await insertConnection(gh, 'One IdP'), await insertConnection(gh, 'Two IdP')];
      await link(gh, user.id, one.id);
      await link(gh, user.id, two.id);
      const ua = new UserAgent();
      await openAccount(gh, ua, user);
      await dropPassword(gh, user.id);

      // Two linked accounts and no password: either may go, the other remains.
      const page = await ua.follow(`${gh.issuer}/account`, gh.issuer);
      assert.match(page.html!, /Your account has no password\./);
      const forms = formsWithButton(linkedSection(page.html!), 'Unlink');
      assert.equal(forms.length, 2);
      const after = await submit(gh, ua, forms[0]!);
      assert.equal(after.url, `${gh.issuer}/account?done=identity-unlinked`);

      // The last one stays: the reason shows in place of the button.
      const section = linkedSection(after.html!);
      assert.equal(formsWithButton(section, 'Unlink').length, 0);
      assert.match(section, /Set a password first: this is your only way to sign in\./);
      assert.match(section, /<a href="\/account\/password">Set a password<\/a>/);

      // Posting anyway (the same form, e.g. from an older tab) is refused with a way back.
      const refused = await submit(gh, ua, forms[1]!);
      assert.equal(refused.res.status, 409);
      assert.match(refused.html!, /Set a password first: this is your only way to sign in\./);
      assert.match(refused.html!, /href="\/account">Back to your account</);
      const listed = await gh.admin('GET', `/admin/users/${user.id}/identities`);
      assert.equal(listed.body.length, 1, 'still linked');
    });

    it('admin: GET lists a user’s identities; DELETE unlinks even the last way in (204, then 404), audited', async () => {
      // Created without a password: the linked identity is the account's only way in.
      const created = await gh.admin('POST', '/admin/users', { email: `fed-${randomUUID()}@example.test` });
      assert.equal(created.status, 201);
      const userId = created.body.id as string;
      const acme = await insertConnection(gh, 'Acme Admin');
      const identity = await link(gh, userId, acme.id);

      const list = await gh.admin('GET', `/admin/users/${userId}/identities`);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, [
        {
          id: identity.id,
          connection_id: acme.id,
          connection_slug: acme.slug,
          connection_name: 'Acme Admin',
          subject: identity.subject,
          email: 'someone@idp.example.test',
          linked_at: identity.linkedAt.toISOString(),
          last_used_at: null,
        },
      ]);

      const path = `/admin/users/${userId}/identities/${identity.id}`;
      assert.equal((await fetch(`${gh.adminUrl}${path}`, { method: 'DELETE' })).status, 401);
      assert.equal((await fetch(`${gh.adminUrl}/admin/users/${userId}/identities`)).status, 401);
      assert.equal((await gh.admin('DELETE', path)).status, 204);
      assert.equal((await gh.admin('DELETE', path)).status, 404);
      assert.deepEqual((await gh.admin('GET', `/admin/users/${userId}/identities`)).body, []);
      assert.equal((await gh.admin('GET', `/admin/users/${randomUUID()}/identities`)).status, 404);
      assert.equal((await gh.admin('DELETE', `/admin/users/${randomUUID()}/identities/${identity.id}`)).status, 404);

      const [event] = await auditEvents(gh, 'identity.unlinked', userId);
      assert.match(event?.actor ?? '', /^admin:/);
      assert.equal(event?.data?.identity_id, identity.id);
    });

    it('another user’s identity is not found from the account page', async () => {
      const [owner, other] = [await createUser(gh), await createUser(gh)];
      const conn = await insertConnection(gh, 'Shared IdP');
      await link(gh, other.id, conn.id);
      const theirs = await link(gh, other.id, (await insertConnection(gh, 'Other IdP')).id);
      const mine = await link(gh, owner.id, conn.id);
      const ua = new UserAgent();
      const page = await openAccount(gh, ua, owner);
      const [form] = formsWithButton(linkedSection(page.html!), 'Unlink');
      assert.ok(form?.action.includes(mine.id));
      const res = await submit(gh, ua, { ...form!, action: form!.action.replace(mine.id, theirs.id) });
      assert.equal(res.res.status, 404);
      assert.equal((await gh.admin('GET', `/admin/users/${other.id}/identities`)).body.length, 2);
    });
  });
}

describe('the "Linked accounts" section is accessible (axe-core)', { skip: skipWithoutChromium }, () => {
  let gh: RunningGatehouse;
  let browser: Browser;
  before(async () => {
    gh = await startAccountGatehouse(backends()[0]!);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gh?.destroy();
  });

  it('has no axe violations with an "Unlink" button, a refusal, or none', async () => {
    const user = await createUser(gh);
    const ua = new UserAgent();
    const none = (await openAccount(gh, ua, user)).html!;
    await link(gh, user.id, (await insertConnection(gh, 'Axe IdP')).id);
    const withButton = (await ua.follow(`${gh.issuer}/account`, gh.issuer)).html!;
    await dropPassword(gh, user.id);
    const refused = (await ua.follow(`${gh.issuer}/account`, gh.issuer)).html!;
    assert.match(none, /No linked accounts\./);
    assert.equal(formsWithButton(withButton, 'Unlink').length, 1);
    assert.match(refused, /Set a password first/);
    const found: string[] = [];
    for (const [name, html] of Object.entries({ none, withButton, refused }))
      for (const v of await axeViolations(browser, html))
        found.push(`${name}: ${v.id} (${v.help}) at ${v.nodes.map((n) => n.html.slice(0, 120)).join(' | ')}`);
    assert.deepEqual(found, []);
  });
});
