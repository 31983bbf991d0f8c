import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRedirectUris } from '../../src/domain/clients/redirect-uri-policy.js';
import { checkRegisteredScope } from '../../src/domain/clients/registered-scope-policy.js';

const strict = { allowHttpLocalhost: false };
const dev = { allowHttpLocalhost: true };
const ok = (uris: string[], extra: Record<string, unknown> = {}, policy = strict) =>
  assert.doesNotThrow(() => checkRedirectUris({ redirect_uris: uris, ...extra }, policy), uris.join(' '));
const refused = (uris: string[], extra: Record<string, unknown> = {}, policy = strict) =>
  assert.throws(
    () => checkRedirectUris({ redirect_uris: uris, ...extra }, policy),
    (e: { code?: string }) => e.code === 'invalid_redirect_uri',
    uris.join(' '),
  );

describe('redirect URI policy', () => {
  it('web: https anywhere, http only on loopback IP literals', () => {
    ok(['https://app.example.test/cb', 'https://app.example.test:8443/cb?x=1']);
    ok(['http://127.0.0.1/cb', 'http://127.0.0.1:65000/cb', 'http://[::1]:3000/cb', 'http://[0:0:0:0:0:0:0:1]/cb']);
    refused(['http://app.example.test/cb']);
    refused(['http://127.0.0.2/cb']);
    refused(['http://localhost/cb']);
    ok(['http://localhost:8080/cb'], {}, dev);
  });

  it('no wildcards, no fragments, nothing relative', () => {
    refused(['https://*.example.test/cb']);
    refused(['https://app.example.test/*']);
    refused(['https://app.example.test/cb#']);
    refused(['/cb']);
  });

  it('native: reverse-domain private-use schemes, never for web clients', () => {
    ok(['com.example.app:/callback'], { application_type: 'native' });
    refused(['com.example.app:/callback']);
    refused(['myapp:/callback'], { application_type: 'native' });
    refused(['javascript:alert(1)'], { application_type: 'native' });
  });

  it('post_logout_redirect_uris follow the same rule', () => {
    assert.throws(
      () => checkRedirectUris({ post_logout_redirect_uris: ['http://app.example.test/'] }, strict),
      /post_logout_redirect_uris/,
    );
  });
});

describe('registered scope policy', () => {
  const declared = async () => new Set(['orders:read', 'admin:read']);
  it('accepts OpenID Connect scopes and declared API scopes', async () => {
    await checkRegisteredScope('openid offline_access orders:read admin:read', declared);
    await checkRegisteredScope(undefined, declared);
  });
  it('refuses a scope nothing declares, naming it', async () => {
    await assert.rejects(
      checkRegisteredScope('openid orders.read', declared),
      (e: { code?: string; message: string }) =>
        e.code === 'invalid_client_metadata' && e.message.includes('orders.read'),
    );
  });
});
