import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { CustomFetch } from 'openid-client';
import type { UpstreamConnection } from '../../src/domain/federation/federated-sign-in.js';
import { UpstreamError } from '../../src/domain/federation/upstream.js';
import { UpstreamClients } from '../../src/federation/upstream-clients.js';
import { type HostileUpstream, startHostileUpstream, type Tamper } from './support/hostile-upstream.js';

const MICROSOFT = 'https://login.microsoftonline.com';
const TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const OTHER_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/**
 * Microsoft's multi-tenant endpoint (preset `microsoft`): discovery of `…/common/v2.0` publishes
 * the issuer `…/{tenantid}/v2.0`, and an ID token's `iss` must be that with the token's own `tid`.
 * The Microsoft-shaped upstream runs locally; the relying party's fetch routes Microsoft's origin
 * to it, so the real issuer URL (and openid-client's Entra ID handling) is what is exercised.
 */
describe('Microsoft multi-tenant issuer validation by tid', () => {
  let up: HostileUpstream;
  let clients: UpstreamClients;
  let connection: UpstreamConnection;
  const redirectUri = 'https://gatehouse.test/federation/microsoft/callback';

  before(async () => {
    up = await startHostileUpstream({ publicOrigin: MICROSOFT, issuerPath: '/{tenantid}/v2.0' });
    const route: CustomFetch = (url, options) => {
      const u = new URL(url);
      assert.equal(u.origin, MICROSOFT, `only Microsoft's origin is asked: ${url}`);
      return fetch(`${up.origin}${u.pathname}${u.search}`, options as RequestInit);
    };
    clients = new UpstreamClients(3600, Date.now, route);
    const now = new Date();
    connection = {
      id: randomUUID(),
      type: 'oidc',
      slug: 'microsoft',
      name: 'Microsoft',
      enabled: true,
      domains: [],
      enforceSso: false,
      jit: true,
      linkExisting: 'prompt',
      trustedMfa: false,
      createdAt: now,
      updatedAt: now,
      secretSealed: null,
      settings: {
        issuer: `${MICROSOFT}/common/v2.0`,
        client_id: up.clientId,
        scopes: ['openid', 'email', 'profile'],
        preset: 'microsoft',
      },
    };
  });
  after(() => up?.close());

  /** One sign-in at the (local) Microsoft: authorize, straight back with a code, then the exchange. */
  async function exchange(tamper: Tamper) {
    up.tamper = tamper;
    const request = await clients.start(connection, up.clientSecret, redirectUri);
    const authorize = new URL(request.url);
    assert.equal(authorize.origin, MICROSOFT);
    const res = await fetch(`${up.origin}${authorize.pathname}${authorize.search}`, { redirect: 'manual' });
    return clients.finish(connection, up.clientSecret, new URL(res.headers.get('location')!), request);
  }

  const tenantIss = (tid: string) => `${MICROSOFT}/${tid}/v2.0`;

  it("accepts an ID token whose iss is the template filled with the token's tid", async () => {
    const profile = await exchange({ claims: (c) => ({ ...c, iss: tenantIss(TENANT), tid: TENANT }) });
    assert.ok(profile.subject);
    assert.equal(profile.emailVerified, true);
  });

  async function refused(tamper: Tamper, reason: string) {
    await assert.rejects(exchange(tamper), (err: unknown) => {
      assert.ok(err instanceof UpstreamError, String(err));
      assert.equal(err.reason, reason);
      return true;
    });
  }

  it("rejects an iss of another tenant than the token's tid", async () => {
    await refused({ claims: (c) => ({ ...c, iss: tenantIss(OTHER_TENANT), tid: TENANT }) }, 'issuer_mismatch');
  });

  it('rejects a token without tid, and the unfilled template as iss', async () => {
    await refused({ claims: (c) => ({ ...c, iss: tenantIss(TENANT), tid: undefined }) }, 'issuer_mismatch');
    await refused({ claims: (c) => ({ ...c, iss: up.issuer, tid: TENANT }) }, 'issuer_mismatch');
  });

  it('rejects an iss of another issuer altogether', async () => {
    await refused({ claims: (c) => ({ ...c, iss: 'https://evil.example/v2.0', tid: TENANT }) }, 'issuer_mismatch');
  });
});
