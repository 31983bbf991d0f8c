import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, PASSWORD, client, createClient, createUser, discover } from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

/**
 * The password rules seen from outside: the admin API answers 400 naming the rule (no stack, no
 * internals) and the registration page shows it. The rules are pure code, unit-tested in
 * test/unit/password-rules.test.ts; one backend suffices here, storage plays no part in them.
 */
const randomEmail = (local = 'pw') => `${local}-${Math.random().toString(36).slice(2, 8)}@example.test`;

describe('password rules over HTTP (pglite)', () => {
  let gh: RunningGatehouse;
  let config: client.Configuration;
  before(async () => {
    gh = await startGatehouse('pglite', { env: { GATEHOUSE_REGISTRATION: 'true' } });
    config = await discover(gh, await createClient(gh, { client_name: 'Password Rules App' }));
  });
  after(async () => {
    await gh?.destroy();
  });

  const refused = async (method: string, path: string, body: Record<string, unknown>, rule: RegExp) => {
    const res = await gh.admin(method, path, body);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'invalid_password');
    assert.match(res.body.error_description, rule);
    assert.doesNotMatch(JSON.stringify(res.body), /\bat .+\.ts:\d+|stack/i, 'no stack trace');
  };

  it('the admin API refuses a breached, contextual or repetitive password with 400 naming the rule', async () => {
    const email = randomEmail();
    await refused('POST', '/admin/users', { email, password: 'passwordstandard' }, /list of common or breached/);
    await refused('POST', '/admin/users', { email, password: 'Sunshine2024!!!!' }, /list of common or breached/);
    await refused('POST', '/admin/users', { email, password: 'my gatehouse passphrase' }, /name of this service/);
    await refused('POST', '/admin/users', { email, password: 'localhost is my home' }, /name of this service/);
    await refused('POST', '/admin/users', { email, password: 'passwordpassword' }, /too repetitive or sequential/);
    await refused(
      'POST',
      '/admin/users',
      { email, name: 'Grace Hopper', password: 'hopper wrote compilers' },
      /must not contain your name/,
    );
    const listed = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
    assert.deepEqual(listed.body.items, [], 'no user was created');
  });

  it('a password change through the admin API is checked against the stored email and name', async () => {
    const user = await createUser(gh, { email: randomEmail('marguerite'), name: 'Katherine Johnson' });
    const path = `/admin/users/${user.id}`;
    await refused('PATCH', path, { password: 'marguerite likes orbits' }, /your email address/);
    await refused('PATCH', path, { password: 'johnson computes orbits' }, /your name/);
    await refused('PATCH', path, { name: 'Mary Jackson', password: 'jackson computes orbits' }, /your name/);
    const changed = await gh.admin('PATCH', path, { password: 'johnson computes orbits', name: 'Mary Jackson' });
    assert.equal(changed.status, 200, 'the old name is no longer the context');
  });

  it('the registration page shows the rule that failed and creates no account', async () => {
    const ua = new UserAgent();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const login = await ua.follow(url.toString(), gh.issuer);
    const page = await ua.follow(`${login.url}/register`, gh.issuer);
    assert.equal(page.res.status, 200);
    assert.match(page.html!, /common or breached passwords/, 'the hint says what is refused');
    const action = new URL(formAction(page.html!), gh.issuer).toString();
    const email = randomEmail('newcomer');
    const cases = [
      ['G4teh0use forever and ever', 'Password must not contain the name of this service.'],
      ['newcomer joins the party', 'Password must not contain your email address.'],
      ['abcdefghijklmnopqrst', 'Password is too repetitive or sequential.'],
      ['Mailcreated5240', 'Password is on a list of common or breached passwords.'],
    ] as const;
    for (const [password, message] of cases) {
      const res = await ua.request(action, { form: { csrf: hiddenField(page.html!, 'csrf'), email, password } });
      assert.equal(res.status, 400, password);
      const html = await res.text();
      assert.ok(html.includes(message), `${password}: ${message}`);
      assert.match(html, /role="alert"/);
    }
    const listed = await gh.admin('GET', `/admin/users?q=${encodeURIComponent(email)}`);
    assert.deepEqual(listed.body.items, []);
    const ok = await ua.request(action, { form: { csrf: hiddenField(page.html!, 'csrf'), email, password: PASSWORD } });
    assert.ok(ok.status < 400, `a good passphrase registers (${ok.status})`);
  });
});
