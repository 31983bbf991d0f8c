import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { normalizeAddress, resolveClientAddress, TrustedProxies } from '../../src/http/middleware/client-address.js';

const none = new TrustedProxies([]);
const proxies = new TrustedProxies(['10.0.0.0/8', '192.0.2.10', '2001:db8:1::/48', '::1']);

describe('client address resolution (TRUSTED_PROXIES)', () => {
  it('trusts nobody by default: the TCP peer is the client whatever X-Forwarded-For says', () => {
    assert.equal(resolveClientAddress('127.0.0.1', '203.0.113.9', none), '127.0.0.1');
    assert.equal(resolveClientAddress('::ffff:127.0.0.1', '203.0.113.9, 198.51.100.1', none), '127.0.0.1');
  });

  it('ignores X-Forwarded-For from a peer that is not a listed proxy', () => {
    assert.equal(resolveClientAddress('198.51.100.7', '203.0.113.9', proxies), '198.51.100.7');
    assert.equal(resolveClientAddress('11.0.0.1', '203.0.113.9', proxies), '11.0.0.1', 'outside 10.0.0.0/8');
  });

  it('takes the right-most hop that is not a trusted proxy, never a client-written entry to its left', () => {
    assert.equal(resolveClientAddress('10.1.2.3', 'forged-1, 198.51.100.1, 203.0.113.9', proxies), '203.0.113.9');
    // A chain of our own proxies: 192.0.2.10 and 10.x are skipped.
    const chain = '1.1.1.1, 203.0.113.9, 192.0.2.10, 10.9.9.9';
    assert.equal(resolveClientAddress('10.1.2.3', chain, proxies), '203.0.113.9');
  });

  it('matches IPv4 CIDRs, single addresses and IPv6 CIDRs, and IPv4-mapped IPv6 peers', () => {
    assert.equal(resolveClientAddress('::ffff:10.255.255.255', '203.0.113.9', proxies), '203.0.113.9');
    assert.equal(resolveClientAddress('::ffff:192.0.2.10', '203.0.113.9', proxies), '203.0.113.9');
    assert.equal(resolveClientAddress('::ffff:192.0.2.11', '203.0.113.9', proxies), '192.0.2.11');
    assert.equal(resolveClientAddress('2001:db8:1:ffff::1', '2001:db8:2::5', proxies), '2001:db8:2::5');
    assert.equal(resolveClientAddress('2001:db8:2::1', '203.0.113.9', proxies), '2001:db8:2::1', 'outside the /48');
    assert.equal(resolveClientAddress('::1', '::ffff:203.0.113.9', proxies), '203.0.113.9', 'a mapped hop is IPv4');
  });

  it('when every hop is a trusted proxy, the left-most one is the origin', () => {
    assert.equal(resolveClientAddress('::1', '10.0.0.5, 192.0.2.10', proxies), '10.0.0.5');
    assert.equal(resolveClientAddress('::1', undefined, proxies), '::1');
    assert.equal(resolveClientAddress('::1', '', proxies), '::1');
  });

  it('stops at a hop that is no address: the nearest trusted proxy counts, so garbage cannot rotate', () => {
    assert.equal(resolveClientAddress('10.1.2.3', '203.0.113.9, not-an-ip', proxies), '10.1.2.3');
    assert.equal(resolveClientAddress('10.1.2.3', '203.0.113.9, unknown, 10.0.0.7', proxies), '10.0.0.7');
  });

  it('reads repeated X-Forwarded-For headers as one list, and hops with ports or brackets', () => {
    assert.equal(resolveClientAddress('10.1.2.3', ['198.51.100.1', '203.0.113.9:5555'], proxies), '203.0.113.9');
    assert.equal(resolveClientAddress('10.1.2.3', '[2001:db8:2::5]:443', proxies), '2001:db8:2::5');
  });

  it('normalises addresses to one spelling', () => {
    assert.equal(normalizeAddress('::FFFF:127.0.0.1'), '127.0.0.1');
    assert.equal(normalizeAddress(' [::1]:8080 '), '::1');
    assert.equal(normalizeAddress('1.2.3.4:80'), '1.2.3.4');
    assert.equal(normalizeAddress('evil.example'), undefined);
    assert.equal(normalizeAddress(undefined), undefined);
  });
});

describe('TRUSTED_PROXIES and TRUST_PROXY configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
  };

  it('accepts addresses and CIDRs of both families, and defaults to trusting nobody', () => {
    assert.deepEqual(loadConfig({}).trustedProxies, []);
    assert.deepEqual(loadConfig({ TRUSTED_PROXIES: ' 10.0.0.0/8, ::1,fd00::/8 ,192.0.2.1,' }).trustedProxies, [
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
      '192.0.2.1',
    ]);
  });

  it('names the variable and the entry for a bad entry', () => {
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '::1/129', '10.0.0.0/8/1', '10.0.0/8', '1.2.3.4/x']) {
      const [problem] = problems({ TRUSTED_PROXIES: `127.0.0.1,${bad}` });
      assert.match(problem ?? '', /^TRUSTED_PROXIES: /, bad);
      assert.ok(problem!.includes(bad), problem);
    }
  });

  it('keeps TRUST_PROXY=true as a deprecated alias for loopback and private ranges', () => {
    const config = loadConfig({ TRUST_PROXY: 'true' });
    assert.equal(config.deprecatedTrustProxy, true);
    const trusted = new TrustedProxies(config.trustedProxies);
    for (const a of ['127.0.0.1', '::1', '10.1.1.1', '172.31.0.1', '192.168.1.1', 'fd12::1']) {
      assert.ok(trusted.has(a), a);
    }
    for (const a of ['172.32.0.1', '8.8.8.8', '2001:db8::1']) assert.ok(!trusted.has(a), a);
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'true', TRUSTED_PROXIES: '192.0.2.1' }).trustedProxies, ['192.0.2.1']);
  });
});
