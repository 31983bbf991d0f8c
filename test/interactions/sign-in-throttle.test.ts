import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { backends, createTestStorage } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import {
  PASSWORD,
  type client,
  createClient,
  createUser,
  discover,
  startAuthorization,
} from '../support/relying-party.js';
import { UserAgent, formAction, hiddenField } from '../support/user-agent.js';

for (const backend of backends()) {
  describe(`sign-in throttling per client address (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    let user: { id: string; email: string };
    before(async () => {
      // Behind proxies at 127.0.0.1 and in 10.0.0.0/8: the client address is the right-most
      // X-Forwarded-For hop that is not a trusted proxy (the one our outermost proxy appended).
      gh = await startGatehouse(backend, {
        env: { SIGN_IN_ATTEMPTS_PER_MINUTE: '3', TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8' },
      });
      config = await discover(gh, await createClient(gh));
      user = await createUser(gh);
    });
    after(async () => {
      await gh?.destroy();
    });

    async function loginForm(address: string) {
      const ua = new UserAgent((url, init) =>
        fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-forwarded-for': address } }),
      );
      const { step: page } = await startAuthorization(gh, config, { scope: 'openid' }, ua);
      assert.ok(page.html?.includes('name="password"'));
      const action = new URL(formAction(page.html!), gh.issuer).toString();
      const csrf = hiddenField(page.html!, 'csrf');
      return (password: string) => ua.request(action, { form: { csrf, email: user.email, password } });
    }

    it('answers 429 with Retry-After once an address used its attempts, before checking the password', async () => {
      const attempt = await loginForm('203.0.113.7');
      for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong password, attempt')).status, 401);
      const limited = await attempt(PASSWORD);
      assert.equal(limited.status, 429, 'even the right password waits: nothing is hashed');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.match(await limited.text(), /Too many sign-in attempts/);
    });

    it('counts per address: another client is not affected, and a forged first X-Forwarded-For entry does not help', async () => {
      const other = await loginForm('198.51.100.23');
      const ok = await other(PASSWORD);
      assert.equal(ok.status, 303, 'another address signs in');
      // The attacker prepends a fresh address each time; the proxy-added (last) entry still counts.
      const spoofed = await loginForm('10.9.8.7, 203.0.113.7');
      assert.equal((await spoofed('wrong password, attempt')).status, 429);
    });

    it("records the right-most untrusted hop as the audit ip, in our events and the provider's", async () => {
      const failures = await gh.admin(
        'GET',
        `/admin/audit-events?type=login.failed&user=${encodeURIComponent(user.id)}`,
      );
      assert.equal(failures.status, 200);
      const ips = new Set((failures.body.items as { ip: string }[]).map((e) => e.ip));
      assert.deepEqual([...ips], ['203.0.113.7'], 'the forged 10.9.8.7 and the proxy 127.0.0.1 are never the client');

      const machine = await gh.admin('POST', '/admin/clients', {
        client_name: 'Worker',
        grant_types: ['client_credentials'],
      });
      const token = await fetch(`${gh.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${machine.body.client_id}:${machine.body.client_secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          // Forged by the client, then the client as our edge proxy saw it, then our inner proxy.
          'x-forwarded-for': '198.18.0.1, 192.0.2.44, 10.1.1.1',
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(token.status, 200, await token.clone().text());
      const issued = await gh.admin('GET', `/admin/audit-events?type=token.issued&client=${machine.body.client_id}`);
      assert.equal(issued.body.items[0]?.ip, '192.0.2.44');
    });

    it('refuses a flood before the page stack: a way back to the sign-in page, one audit event per address and window', async () => {
      const attempt = await loginForm('203.0.113.99');
      for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong password, attempt')).status, 401);
      for (let i = 0; i < 10; i++) {
        const refused = await attempt('wrong password, attempt');
        assert.equal(refused.status, 429);
        assert.ok(Number(refused.headers.get('retry-after')) >= 1);
        assert.equal(refused.headers.get('cache-control'), 'no-store');
        assert.match(refused.headers.get('content-security-policy') ?? '', /default-src 'none'/);
        const html = await refused.text();
        assert.match(html, /<a [^>]*href="\/interaction\/[\w-]+"[^>]*>Back to sign-in<\/a>/);
      }
      const events = await gh.admin('GET', '/admin/audit-events?type=login.failed&limit=200');
      const limited = (events.body.items as { ip: string; data: { reason?: string } }[]).filter(
        (e) => e.ip === '203.0.113.99' && e.data.reason === 'rate_limited',
      );
      assert.equal(limited.length, 1, 'ten refusals, one audit event');
    });
  });

  describe(`sign-in throttling with no trusted proxy (${backend})`, () => {
    let gh: RunningGatehouse;
    let config: client.Configuration;
    let user: { id: string; email: string };
    before(async () => {
      gh = await startGatehouse(backend, { env: { SIGN_IN_ATTEMPTS_PER_MINUTE: '3' } });
      config = await discover(gh, await createClient(gh));
      user = await createUser(gh);
    });
    after(async () => {
      await gh?.destroy();
    });

    it('a client connecting directly cannot escape the throttle by rotating X-Forwarded-For', async () => {
      let n = 0;
      const ua = new UserAgent((url, init) =>
        fetch(url, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), 'x-forwarded-for': `198.51.100.${++n}` },
        }),
      );
      const { step: page } = await startAuthorization(gh, config, { scope: 'openid' }, ua);
      const action = new URL(formAction(page.html!), gh.issuer).toString();
      const csrf = hiddenField(page.html!, 'csrf');
      const attempt = (password: string) => ua.request(action, { form: { csrf, email: user.email, password } });
      for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong password, attempt')).status, 401);
      assert.equal((await attempt(PASSWORD)).status, 429, 'every forged address is the same TCP peer');

      const failures = await gh.admin(
        'GET',
        `/admin/audit-events?type=login.failed&user=${encodeURIComponent(user.id)}`,
      );
      for (const e of failures.body.items as { ip: string }[]) assert.equal(e.ip, '127.0.0.1');
    });
  });
}

describe('TRUST_PROXY=true (deprecated)', () => {
  it('still starts, trusting loopback and private ranges, with one warning naming TRUSTED_PROXIES', async () => {
    const storage = await createTestStorage(backends()[0]!);
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      {
        write: (line: string) => {
          lines.push(line);
        },
      },
    );
    const config = loadConfig({
      ...storage.env,
      TRUST_PROXY: 'true',
      ARGON2_MEMORY_KIB: '8192',
      ARGON2_ITERATIONS: '1',
    });
    try {
      const instance = await createGatehouse(config, logger);
      await instance.close();
    } finally {
      await storage.drop();
    }
    const warnings = lines.filter((l) => l.includes('TRUST_PROXY is deprecated'));
    assert.equal(warnings.length, 1, lines.join(''));
    assert.match(warnings[0]!, /TRUSTED_PROXIES/);
    assert.ok(config.trustedProxies.includes('127.0.0.0/8') && config.trustedProxies.includes('fc00::/7'));
  });
});
