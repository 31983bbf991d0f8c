import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { newP8 } from './support/apple-upstream.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { KeyEncryption } from '../../src/domain/keys/key-encryption.js';
import { connectionSecretContext } from '../../src/domain/federation/connection.js';

const SECRET = 'upstream-secret-Zq9VwX3kP7rT';
/** IdP metadata with an SSO service (HTTP-Redirect) and a signing certificate (made by test/federation/support/saml-idp.ts). */
const METADATA = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:assertion="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.test/idp"><IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>MIIC0jCCAbqgAwIBAgIQIvVV1X2iRhTTnppmeKviYDANBgkqhkiG9w0BAQsFADAlMSMwIQYDVQQDDBpodHRwOi8vMTI3LjAuMC4xOjQyMjU5L2lkcDAeFw0yNjEyMDUyMDE0MjlaFw0zNjEyMDUyMDE1MjlaMCUxIzAhBgNVBAMMGmh0dHA6Ly8xMjcuMC4wLjE6NDIyNTkvaWRwMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAinxBxuHBgw9g3Ye5u4BJ/LrkmSUyFcMj0OgIiHUbO/HSjCJIBna0JPoMkhGlaygw5PkIbDD3zceUDoB0+c+fotq9HskwMT6yIBvgdC/xjv9MueP4pC+wAFLUx21IJEPpP4PvQDVUe8SQRne0F31dlzwWqT7IIrRQgLh/O0+PX2dr/nRSkYKhcRZSqxzD4asaToEvmSgtMJUWVFSlrNTlVnHT48dM228HL5t8rMyKtvOOO08rTaheCl2A4fptOixXpcSlvMHgbCko/umzG0NbSIcL7MJRGc1pxkyqOBamJsqEbp9JJ2A6YR1YTURxJ9YH9u0TJmIDvTBkPm1MPA/E5QIDAQABMA0GCSqGSIb3DQEBCwUAA4IBAQBm91D8er9tQRzM3RUH1LNMO5vxMeX9y4/7vWng64Vp0lB1t+1pRMGDxSssToJmLbdhHrOZvhtY6YbJacynX22pkuPp/btpZdtXrTUnQzO1gXUymy6H5yPcgGj/YGU17i8/HdkR0ZKd4eRhM3saSax0C+vIxkQP9lBWs0wMiRKSuXmiv/NT79e44o84zvGS/Pu58C4uZaLf9+lPU002RGFwXvl2ENcm4dnvmSF6FGUhp5heV0azRhXQf3dC4B6VfkZwGyG2n/YXgtAUhY+Lxl6lJbTzwTXb/Vf3o9Bl3LSbqbBdpr2l9ykUmCmBXMy5xu4NP8xhpzvi00oi5/QDWqT5</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor><NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat><NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"></SingleSignOnService><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/sso"></SingleSignOnService><SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/slo"></SingleLogoutService></IDPSSODescriptor></EntityDescriptor>`;

for (const backend of backends()) {
  describe(`admin API: connections (${backend})`, () => {
    let gh: RunningGatehouse;
    before(async () => {
      gh = await startGatehouse(backend);
    });
    after(async () => {
      await gh?.destroy();
    });

    const create = (body: Record<string, unknown>) => gh.admin('POST', '/admin/connections', body);
    const row = (id: string) => gh.instance.database.db()('connections').where({ id }).first();
    const expect400 = async (body: Record<string, unknown>, message: RegExp) => {
      const res = await create(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.error_description, message);
    };

    it('creates an OIDC connection: defaults, a derived slug, the callback URL; the secret is sealed', async () => {
      const res = await create({
        type: 'oidc',
        name: 'Acme Corp SSO',
        issuer: 'https://idp.acme.example',
        client_id: 'gatehouse',
        client_secret: SECRET,
        domains: ['Acme.Example', 'acme.example'],
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.headers.get('location'), `/admin/connections/${res.body.id}`);
      const c = res.body;
      assert.equal(c.slug, 'acme-corp-sso');
      assert.equal(c.enabled, true);
      assert.equal(c.enforce_sso, false);
      assert.equal(c.jit, true);
      assert.equal(c.link_existing, 'prompt');
      assert.equal(c.trusted_mfa, false);
      assert.deepEqual(c.domains, ['acme.example']);
      assert.deepEqual(c.scopes, ['openid', 'email', 'profile']);
      assert.equal(c.client_secret_set, true);
      assert.equal(c.client_secret, undefined);
      assert.equal(c.callback_url, `${gh.issuer}/federation/acme-corp-sso/callback`);
      assert.ok(c.created_at && c.updated_at);
      assert.ok(!JSON.stringify(c).includes(SECRET));

      const stored = await row(c.id);
      assert.ok(stored.secret_sealed && !stored.secret_sealed.includes(SECRET), 'sealed, not plaintext');
      assert.ok(!JSON.stringify(stored.settings).includes(SECRET));
      // Sealed under the instance's KEK, bound to this connection: the sign-in code can open it, another row cannot.
      const kek = new KeyEncryption(
        Buffer.from(fs.readFileSync(path.join(gh.env.GATEHOUSE_KEYS_DIR!, 'kek'), 'utf8').trim(), 'base64url'),
      );
      assert.equal(kek.decrypt(stored.secret_sealed, connectionSecretContext(c.id)), SECRET);
      assert.throws(() => kek.decrypt(stored.secret_sealed, connectionSecretContext(randomUUID())));
      const got = await gh.admin('GET', `/admin/connections/${c.id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, c);
      const list = await gh.admin('GET', '/admin/connections');
      assert.ok(list.body.items.some((x: { id: string }) => x.id === c.id));
      assert.ok(!JSON.stringify(list.body).includes(SECRET));

      const events = await gh.admin('GET', '/admin/audit-events?type=connection.created');
      const event = events.body.items.find((e: any) => e.data.connection_id === c.id);
      assert.ok(event, 'connection.created audited');
      assert.match(event.actor, /^admin:/);
      assert.ok(!JSON.stringify(events.body).includes(SECRET), 'no secret in the audit log');
      assert.ok(!JSON.stringify(events.body).includes(stored.secret_sealed), 'no sealed secret either');
    });

    it('fills presets: Google, Microsoft, Apple, GitLab (oidc) and GitHub (oauth2); scopes as a string', async () => {
      const expected = {
        google: ['https://accounts.google.com', ['openid', 'email', 'profile']],
        microsoft: ['https://login.microsoftonline.com/common/v2.0', ['openid', 'email', 'profile']],
        apple: ['https://appleid.apple.com', ['openid', 'email', 'name']],
        gitlab: ['https://gitlab.com', ['openid', 'email', 'profile']],
      } as const;
      for (const [preset, [issuer, scopes]] of Object.entries(expected)) {
        // Apple's client secret is the .p8 key, with its team and key IDs (test/federation/apple.test.ts).
        const apple = { client_secret: newP8(), apple_team_id: 'ABCDE12345', apple_key_id: 'KEY1234567' };
        const res = await create({
          type: 'oidc',
          preset,
          name: `P ${preset}`,
          client_id: 'x',
          client_secret: 's',
          ...(preset === 'apple' ? apple : {}),
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.issuer, issuer);
        assert.deepEqual(res.body.scopes, scopes);
        assert.equal(res.body.preset, preset);
      }
      const gh2 = await create({
        type: 'oauth2',
        preset: 'github',
        name: 'GitHub',
        client_id: 'x',
        client_secret: 's',
      });
      assert.equal(gh2.status, 201, JSON.stringify(gh2.body));
      assert.equal(gh2.body.slug, 'github');
      assert.equal(gh2.body.authorization_endpoint, 'https://github.com/login/oauth/authorize');
      assert.equal(gh2.body.token_endpoint, 'https://github.com/login/oauth/access_token');
      assert.equal(gh2.body.userinfo_endpoint, 'https://api.github.com/user');
      assert.deepEqual(gh2.body.scopes, ['read:user', 'user:email']);
      assert.equal(gh2.body.callback_url, `${gh.issuer}/federation/github/callback`);

      const custom = await create({
        type: 'oauth2',
        name: 'Custom',
        authorization_endpoint: 'https://sso.example/authorize',
        token_endpoint: 'https://sso.example/token',
        userinfo_endpoint: 'https://sso.example/me',
        client_id: 'x',
        client_secret: 's',
        scopes: 'profile  email',
        claims: { subject: 'id', email: 'mail' },
      });
      assert.equal(custom.status, 201, JSON.stringify(custom.body));
      assert.deepEqual(custom.body.scopes, ['profile', 'email']);
      assert.deepEqual(custom.body.claims, { subject: 'id', email: 'mail' });
      // Loopback upstreams (tests, development) may use http.
      const local = await create({
        type: 'oidc',
        name: 'Local',
        issuer: 'http://127.0.0.1:9999',
        client_id: 'x',
        client_secret: 's',
        scopes: ['openid', 'email'],
        claims: { email_verified: 'verified' },
      });
      assert.equal(local.status, 201, JSON.stringify(local.body));
    });

    it('creates a SAML connection with defaults and the SP URLs (no secret fields)', async () => {
      const res = await create({
        type: 'saml',
        name: 'Okta',
        slug: 'okta-corp',
        idp_metadata_xml: METADATA,
        attribute_mapping: { email: 'mail' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const c = res.body;
      assert.equal(c.email_verified, false);
      assert.equal(c.sign_authn_requests, true);
      assert.equal(c.want_assertions_signed, true);
      assert.equal(c.allow_idp_initiated, false);
      assert.equal(c.sp_metadata_url, `${gh.issuer}/saml/okta-corp/metadata`);
      assert.equal(c.sp_entity_id, `${gh.issuer}/saml/okta-corp`);
      assert.equal(c.acs_url, `${gh.issuer}/saml/okta-corp/acs`);
      assert.equal(c.callback_url, undefined);
      assert.equal(c.client_secret_set, undefined);
      const byUrl = await create({ type: 'saml', name: 'Entra', idp_metadata_url: 'https://login.example/md.xml' });
      assert.equal(byUrl.status, 201, JSON.stringify(byUrl.body));
      const toUrl = await gh.admin('PATCH', `/admin/connections/${c.id}`, {
        idp_metadata_url: 'https://okta.example/metadata',
        allow_idp_initiated: true,
      });
      assert.equal(toUrl.status, 200, JSON.stringify(toUrl.body));
      assert.equal(toUrl.body.idp_metadata_xml, undefined, 'the URL replaces the inline metadata');
      assert.equal(toUrl.body.allow_idp_initiated, true);
      assert.equal(toUrl.body.sign_authn_requests, true);
    });

    it('refuses invalid connections with 400 and a clear message', async () => {
      const oidc = { type: 'oidc', name: 'Bad', client_id: 'x', client_secret: 's' };
      await expect400({ ...oidc, name: undefined }, /name/);
      await expect400({ ...oidc, type: 'ldap' }, /type/);
      await expect400(oidc, /issuer: required unless a preset/);
      await expect400({ ...oidc, issuer: 'http://idp.example' }, /issuer: must use https/);
      await expect400({ ...oidc, issuer: 'not a url' }, /issuer: must be an absolute URL/);
      await expect400({ ...oidc, preset: 'facebook' }, /preset/);
      await expect400({ ...oidc, preset: 'google', scopes: ['email'] }, /scopes: must include openid/);
      await expect400({ ...oidc, preset: 'google', client_secret: undefined }, /client_secret: required/);
      await expect400({ ...oidc, preset: 'google', slug: 'Not OK' }, /slug/);
      await expect400({ ...oidc, preset: 'google', domains: ['@acme.example'] }, /domains\.0: must be an email domain/);
      await expect400({ ...oidc, preset: 'google', link_existing: 'always' }, /link_existing/);
      await expect400({ ...oidc, preset: 'google', unknown_field: 1 }, /unrecognized|unknown_field/i);
      await expect400({ type: 'oauth2', name: 'O', client_id: 'x', client_secret: 's' }, /authorization_endpoint/);
      await expect400({ type: 'saml', name: 'S' }, /idp_metadata_xml or idp_metadata_url/);
      await expect400({ type: 'saml', name: 'S', idp_metadata_xml: '<html/>' }, /EntityDescriptor/);
      await expect400(
        { type: 'saml', name: 'S', idp_metadata_xml: METADATA.replace(/<KeyDescriptor[\s\S]*<\/KeyDescriptor>/, '') },
        /signing certificate/,
      );
      await expect400({ type: 'saml', name: 'S', idp_metadata_xml: METADATA, client_secret: 's' }, /client_secret/);
      const notObject = await gh.admin('POST', '/admin/connections', [1]);
      assert.equal(notObject.status, 400);
    });

    it('answers 409 for a taken slug (given or derived) and a domain another connection routes', async () => {
      const base = { type: 'oidc', preset: 'google', client_id: 'x', client_secret: 's' };
      assert.equal((await create({ ...base, name: 'Taken Slug' })).status, 201);
      const derived = await create({ ...base, name: 'Taken  slug!' });
      assert.equal(derived.status, 409);
      assert.equal(derived.body.error, 'conflict');
      assert.match(derived.body.error_description, /slug: "taken-slug" is taken/);
      assert.equal((await create({ ...base, name: 'Other', slug: 'taken-slug' })).status, 409);
      assert.equal((await create({ ...base, name: 'D1', domains: ['routed.example'] })).status, 201);
      const dup = await create({ ...base, name: 'D2', domains: ['ROUTED.example'] });
      assert.equal(dup.status, 409);
      assert.match(dup.body.error_description, /routed\.example/);
    });

    it('PATCH changes given fields only, re-seals a new secret and refuses a type change', async () => {
      const c = (
        await create({ type: 'oidc', preset: 'microsoft', name: 'Entra ID', client_id: 'a', client_secret: SECRET })
      ).body;
      const sealedBefore = (await row(c.id)).secret_sealed;
      const patched = await gh.admin('PATCH', `/admin/connections/${c.id}`, {
        enforce_sso: true,
        domains: ['contoso.example'],
        client_id: 'b',
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.enforce_sso, true);
      assert.equal(patched.body.client_id, 'b');
      assert.equal(patched.body.name, 'Entra ID');
      assert.equal(patched.body.issuer, 'https://login.microsoftonline.com/common/v2.0');
      assert.equal(patched.body.client_secret_set, true);
      assert.equal((await row(c.id)).secret_sealed, sealedBefore, 'secret kept when not given');

      const newSecret = 'rotated-upstream-secret-8fK2';
      const rotated = await gh.admin('PATCH', `/admin/connections/${c.id}`, { client_secret: newSecret });
      assert.equal(rotated.status, 200);
      assert.ok(!JSON.stringify(rotated.body).includes(newSecret));
      const sealedAfter = (await row(c.id)).secret_sealed;
      assert.notEqual(sealedAfter, sealedBefore);
      assert.ok(!sealedAfter.includes(newSecret));
      const secretOf = await gh.instance.database.db()('connections').where({ id: c.id }).first();
      assert.ok(secretOf.secret_sealed.startsWith('v1.'));

      const tenant = await gh.admin('PATCH', `/admin/connections/${c.id}`, {
        issuer: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
      });
      assert.equal(tenant.status, 200);
      assert.match(tenant.body.issuer, /0001\/v2\.0$/);

      const typeChange = await gh.admin('PATCH', `/admin/connections/${c.id}`, { type: 'saml' });
      assert.equal(typeChange.status, 400);
      assert.match(typeChange.body.error_description, /type: cannot change/);
      const bad = await gh.admin('PATCH', `/admin/connections/${c.id}`, { issuer: 'ftp://x' });
      assert.equal(bad.status, 400);
      const wrongField = await gh.admin('PATCH', `/admin/connections/${c.id}`, { idp_metadata_url: 'https://x' });
      assert.equal(wrongField.status, 400);
      assert.equal((await gh.admin('PATCH', `/admin/connections/${randomUUID()}`, { name: 'x' })).status, 404);

      const events = await gh.admin('GET', '/admin/audit-events?type=connection.updated');
      const mine = events.body.items.filter((e: any) => e.data.connection_id === c.id);
      assert.ok(mine.some((e: any) => e.data.secret_changed === true));
      const text = JSON.stringify(events.body);
      assert.ok(!text.includes(SECRET) && !text.includes(newSecret), 'no secret in the audit log');
    });

    it('DELETE removes the connection and the identities linked through it; unknown ids are 404', async () => {
      const c = (await create({ type: 'oauth2', preset: 'github', name: 'Gone', client_id: 'x', client_secret: 's' }))
        .body;
      const user = await gh.admin('POST', '/admin/users', { email: `fed-${Date.now()}@example.test`, name: 'F' });
      const db = gh.instance.database.db();
      await db('federated_identities').insert({
        id: randomUUID(),
        connection_id: c.id,
        user_id: user.body.id,
        subject: '12345',
      });
      assert.equal((await gh.admin('DELETE', `/admin/connections/${c.id}`)).status, 204);
      assert.equal((await gh.admin('GET', `/admin/connections/${c.id}`)).status, 404);
      assert.equal((await db('federated_identities').where({ connection_id: c.id })).length, 0);
      assert.equal((await gh.admin('GET', `/admin/users/${user.body.id}`)).status, 200, 'the account stays');
      assert.equal((await gh.admin('DELETE', `/admin/connections/${c.id}`)).status, 404);
      const events = await gh.admin('GET', '/admin/audit-events?type=connection.deleted');
      assert.ok(events.body.items.some((e: any) => e.data.connection_id === c.id));
    });

    it('requires the admin key', async () => {
      for (const [method, path] of [
        ['GET', '/admin/connections'],
        ['POST', '/admin/connections'],
        ['GET', `/admin/connections/${randomUUID()}`],
        ['DELETE', `/admin/connections/${randomUUID()}`],
      ] as const) {
        const res = await fetch(`${gh.adminUrl}${path}`, { method });
        assert.equal(res.status, 401, `${method} ${path}`);
      }
    });
  });
}
