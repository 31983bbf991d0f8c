import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';

/** A GET with headers fetch() will not send (Host), straight to the public port. */
function rawGet(port: number, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

// Host handling does not touch storage: one backend is enough.
const backend = backends()[0]!;

describe(`host pinning: every URL comes from ISSUER (${backend})`, () => {
  let gh: RunningGatehouse;
  before(async () => {
    // Even the forwarded headers of a trusted proxy never choose the host or scheme.
    gh = await startGatehouse(backend, { env: { TRUSTED_PROXIES: '127.0.0.1', DISCOVERY_MAX_AGE_SECONDS: '120' } });
  });
  after(async () => {
    await gh?.destroy();
  });

  const hostile: Record<string, Record<string, string>> = {
    'Host: evil.example': { host: 'evil.example' },
    'X-Forwarded-Host: evil.example (from a trusted proxy)': {
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    },
    'both, with a port': { host: 'evil.example:8443', 'x-forwarded-host': 'evil.example:8443' },
  };

  for (const [name, headers] of Object.entries(hostile)) {
    it(`discovery is issuer-derived with ${name}, and cacheable`, async () => {
      const res = await rawGet(gh.port, '/.well-known/openid-configuration', headers);
      assert.equal(res.status, 200);
      assert.ok(!res.body.includes('evil.example'), res.body);
      const doc = JSON.parse(res.body) as Record<string, unknown>;
      assert.equal(doc.issuer, gh.issuer);
      for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint']) {
        assert.ok(String(doc[key]).startsWith(`${gh.issuer}/`), `${key}: ${doc[key]}`);
      }
      assert.equal(res.headers['cache-control'], 'public, max-age=120');
      assert.ok(!/host/i.test(String(res.headers.vary ?? '')), 'never varies by host');
    });
  }

  it('discovery is byte-identical whatever the host', async () => {
    const plain = await rawGet(gh.port, '/.well-known/openid-configuration', {});
    const evil = await rawGet(gh.port, '/.well-known/openid-configuration', { host: 'evil.example' });
    assert.equal(evil.body, plain.body);
  });

  it('JWKS answers with Cache-Control (JWKS_MAX_AGE_SECONDS), also with a query string or foreign host', async () => {
    for (const path of ['/jwks', '/jwks?x=1']) {
      const res = await rawGet(gh.port, path, { host: 'evil.example' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'public, max-age=300', path);
    }
  });

  it('redirects never point at a foreign host', async () => {
    const res = await rawGet(gh.port, '/authorize?client_id=nobody&response_type=code', {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
    });
    assert.ok(!String(res.headers.location ?? '').includes('evil.example'));
    assert.ok(!res.body.includes('evil.example'));
  });

  it('health probes answer a load balancer that sends an IP address as Host', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await rawGet(gh.port, path, { host: '10.0.0.5:3000' });
      assert.equal(res.status, 200, path);
    }
  });
});
