import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client, createClient } from '../support/relying-party.js';
import { routesTo } from '../../src/oidc/route-path.js';

/**
 * oidc-provider matches its routes case-insensitively and with a trailing slash; Gatehouse hands
 * it only the exact spellings, so no other spelling can skip our protocol middleware (response
 * modes, audit, rotation scope). Every other spelling is our 404.
 */
const NON_CANONICAL: Array<[method: string, path: string]> = [
  ['POST', '/Token'],
  ['POST', '/token/'],
  ['POST', '/TOKEN'],
  ['GET', '/Authorize'],
  ['GET', '/authorize/'],
  ['POST', '/Token/Revocation'],
  ['POST', '/token/revocation/'],
  ['POST', '/token/Introspection'],
  ['POST', '/token/introspection/'],
  ['POST', '/Par'],
  ['POST', '/par/'],
  ['GET', '/UserInfo'],
  ['GET', '/userinfo/'],
  ['POST', '/userinfo/'],
  ['GET', '/JWKS'],
  ['GET', '/jwks/'],
  ['GET', '/Logout'],
  ['GET', '/logout/'],
  ['GET', '/logout/Success'],
  ['GET', '/.well-known/OpenID-Configuration'],
  ['GET', '/.well-known/openid-configuration/'],
  ['GET', '/.well-known/oauth-authorization-server/'],
];

async function authParams(overrides: Record<string, string> = {}) {
  return new URLSearchParams({
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid',
    state: 'state-123',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...overrides,
  });
}

describe("routesTo mirrors oidc-provider's path matching", () => {
  it('matches other cases and one trailing slash, nothing else', () => {
    assert.ok(routesTo('/token', '/token'));
    assert.ok(routesTo('/Token', '/token'));
    assert.ok(routesTo('/token/', '/token'));
    assert.ok(routesTo('/Token/Revocation/', '/token/revocation'));
    assert.ok(!routesTo('/token//', '/token'));
    assert.ok(!routesTo('/token/revocation', '/token'));
  });
});

for (const backend of backends()) {
  describe(`non-canonical protocol paths (${backend})`, () => {
    let gh: RunningGatehouse;
    let app: { client_id: string; client_secret?: string };

    before(async () => {
      gh = await startGatehouse(backend);
      app = await createClient(gh);
    });
    after(async () => {
      await gh?.destroy();
    });

    const basic = () => `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`;

    for (const [method, path] of NON_CANONICAL) {
      it(`${method} ${path} is our 404, never the provider's answer`, async () => {
        const init =
          method === 'POST'
            ? {
                method,
                headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
                body: 'grant_type=client_credentials&token=x',
              }
            : { method };
        const res = await fetch(new URL(path, gh.issuer), { ...init, redirect: 'manual' });
        assert.equal(res.status, 404);
        assert.equal(res.headers.get('location'), null);
        assert.match(res.headers.get('content-type') ?? '', /text\/html/);
        const html = await res.text();
        assert.match(html, /<html lang="en">/);
        assert.match(html, /<title>[^<]+<\/title>/);
        assert.match(html, /<main>/);
        assert.match(html, /<h1>[^<]+<\/h1>/);

        const json = await fetch(new URL(path, gh.issuer), {
          ...init,
          headers: { ...(init.headers ?? {}), accept: 'application/json' },
        });
        assert.equal(json.status, 404);
        assert.equal((await json.json()).error, 'not_found');
      });
    }

    it('the exact spellings still reach the provider', async () => {
      const at = (p: string) => new URL(p, gh.issuer);
      assert.equal((await fetch(at('/.well-known/openid-configuration'))).status, 200);
      assert.equal((await fetch(at('/.well-known/oauth-authorization-server'))).status, 200);
      assert.equal((await fetch(at('/jwks'))).status, 200);
      const token = await fetch(at('/token'), {
        method: 'POST',
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=nonsense',
      });
      assert.equal(token.status, 400);
      assert.equal((await token.json()).error, 'unsupported_grant_type');
      for (const p of ['/token/revocation', '/token/introspection', '/par']) {
        const res = await fetch(at(p), {
          method: 'POST',
          headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        });
        assert.equal(res.status, 400, p);
        assert.equal((await res.json()).error, 'invalid_request', p);
      }
      assert.equal((await fetch(at('/userinfo'))).status, 401);
      assert.equal((await fetch(at('/logout/success'))).status, 200);
      const preflight = await fetch(at('/token'), {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.test', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.status, 204);
      // The resume route (after an interaction) has a uid segment: the provider answers it, not our 404.
      const resume = await fetch(at('/authorize/some-uid'), { redirect: 'manual' });
      assert.notEqual(resume.status, 404);
    });

    it('a known protocol path asked with a method it does not serve is 405 with Allow', async () => {
      const res = await fetch(new URL('/token', gh.issuer), { headers: { accept: 'application/json' } });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
      assert.equal((await res.json()).error, 'method_not_allowed');
      const page = await fetch(new URL('/jwks', gh.issuer), { method: 'DELETE' });
      assert.equal(page.status, 405);
      assert.match(await page.text(), /<h1>/);
    });

    it('/Authorize with response_mode=fragment cannot produce a fragment response', async () => {
      const params = await authParams({ client_id: app.client_id, response_mode: 'fragment' });
      for (const path of ['/Authorize', '/authorize/', '/AUTHORIZE']) {
        const res = await fetch(new URL(`${path}?${params}`, gh.issuer), { redirect: 'manual' });
        assert.equal(res.status, 404, path);
        assert.equal(res.headers.get('location'), null, path);
      }
      const exact = await fetch(new URL(`/authorize?${params}`, gh.issuer), { redirect: 'manual' });
      assert.equal(exact.status, 400);
      assert.equal(exact.headers.get('location'), null);
    });

    it('a pushed request with response_mode=fragment is refused at push time', async () => {
      const params = await authParams({ client_id: app.client_id, response_mode: 'fragment' });
      const res = await fetch(new URL('/par', gh.issuer), {
        method: 'POST',
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: params.toString(),
      });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error, 'invalid_request');
    });

    it('a pushed request with response_mode=query still works', async () => {
      const params = await authParams({ client_id: app.client_id, response_mode: 'query' });
      const res = await fetch(new URL('/par', gh.issuer), {
        method: 'POST',
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: params.toString(),
      });
      assert.equal(res.status, 201);
      assert.ok((await res.json()).request_uri);
    });
  });
}
