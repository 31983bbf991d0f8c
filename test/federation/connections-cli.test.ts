import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { newP8 } from './support/apple-upstream.js';
import { TestSamlIdp } from './support/saml-idp.js';

const BIN = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'), 'bin/gatehouse.mjs');
const SECRET = 'google-secret-from-env-R4nd0m';

function cli(gh: RunningGatehouse, args: string[], env: Record<string, string> = {}) {
  const { GATEHOUSE_ADMIN_TOKEN: _t, GATEHOUSE_ADMIN_KEY: _k, ...inherited } = process.env;
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: os.tmpdir(),
      env: { ...inherited, GATEHOUSE_ADMIN_URL: gh.adminUrl, GATEHOUSE_ADMIN_KEY: gh.adminKey, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ok = (r: { code: number | null; stdout: string; stderr: string }) =>
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

// The CLI is a client of the admin API: one backend is enough here (the API is tested on both).
for (const backend of backends().slice(0, 1)) {
  describe(`gatehouse connections and config-as-code (${backend})`, () => {
    let gh: RunningGatehouse;
    let dir: string;
    before(async () => {
      gh = await startGatehouse(backend);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-connections-'));
    });
    after(async () => {
      await gh?.destroy();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('creates (secret from the environment), lists, gets by slug and deletes a connection', async () => {
      const created = await cli(
        gh,
        ['connections', 'create', '--type', 'oauth2', '--preset', 'github', '--name', 'GitHub', '--client-id', 'x'],
        {},
      );
      assert.equal(created.code, 1, 'no secret → the API says 400');
      assert.match(created.stderr, /client_secret: required/);
      const made = await cli(
        gh,
        [
          'connections',
          'create',
          '--type',
          'oauth2',
          '--preset',
          'github',
          '--name',
          'GitHub',
          '--client-id',
          'x',
        ].concat(['--client-secret-env', 'GH_SECRET', '--domain', 'github-users.example']),
        { GH_SECRET: SECRET },
      );
      ok(made);
      assert.ok(!made.stdout.includes(SECRET));
      const c = JSON.parse(made.stdout);
      assert.equal(c.slug, 'github');
      assert.equal(c.client_secret_set, true);
      const listed = await cli(gh, ['connections', 'list', '--table']);
      ok(listed);
      assert.match(listed.stdout, /github/);
      const got = await cli(gh, ['connections', 'get', 'github']);
      ok(got);
      assert.equal(JSON.parse(got.stdout).id, c.id);
      ok(await cli(gh, ['connections', 'delete', 'github']));
      assert.equal((await gh.admin('GET', `/admin/connections/${c.id}`)).status, 404);
    });

    it('plans, applies and exports connections; secrets come from environment references', async () => {
      const literal = path.join(dir, 'literal.yaml');
      fs.writeFileSync(
        literal,
        'connections:\n  - {type: oidc, preset: google, name: G, client_id: x, client_secret: s}\n',
      );
      const refused = await cli(gh, ['plan', '-f', literal]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /client_secret is a secret/);

      const file = path.join(dir, 'gatehouse.yaml');
      fs.writeFileSync(
        file,
        `connections:
  - type: oidc
    preset: google
    name: Google
    client_id: google-client
    client_secret: \${GOOGLE_CLIENT_SECRET}
    scopes: openid email
  - type: saml
    name: Acme SSO
    slug: acme
    idp_metadata_url: https://idp.acme.example/metadata
    domains: [Acme.Example]
    enforce_sso: true
`,
      );
      const env = { GOOGLE_CLIENT_SECRET: SECRET };
      const plan = await cli(gh, ['plan', '-f', file], env);
      ok(plan);
      assert.deepEqual(plan.stdout.trim().split('\n'), [
        '+ create connection google',
        '+ create connection acme',
        'Plan: 2 change(s).',
      ]);
      const applied = await cli(gh, ['apply', '-f', file], env);
      ok(applied);
      assert.ok(!applied.stdout.includes(SECRET));
      const again = await cli(gh, ['plan', '-f', file], env);
      ok(again);
      assert.match(again.stdout, /No changes/);

      const list = (await gh.admin('GET', '/admin/connections')).body.items;
      const google = list.find((c: any) => c.slug === 'google');
      assert.deepEqual(google.scopes, ['openid', 'email']);
      assert.equal(google.client_secret_set, true);
      assert.deepEqual(list.find((c: any) => c.slug === 'acme').domains, ['acme.example']);

      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('enforce_sso: true', 'enforce_sso: false'));
      const changed = await cli(gh, ['plan', '-f', file], env);
      ok(changed);
      assert.match(changed.stdout, /~ update connection acme \(enforce_sso\)/);
      ok(await cli(gh, ['apply', '-f', file], env));

      const exported = await cli(gh, ['export']);
      ok(exported);
      assert.ok(!exported.stdout.includes(SECRET));
      const doc = parseYaml(exported.stdout);
      const exportedGoogle = doc.connections.find((c: any) => c.slug === 'google');
      assert.equal(exportedGoogle.client_secret, `$${'{'}GOOGLE_CLIENT_SECRET}`);
      assert.equal(exportedGoogle.id, undefined);
      const exportFile = path.join(dir, 'export.yaml');
      fs.writeFileSync(exportFile, exported.stdout);
      const replan = await cli(gh, ['plan', '-f', exportFile], env);
      ok(replan);
      assert.match(replan.stdout, /No changes/);
    });

    it('SAML: the IdP metadata from a file or a URL; an unreadable file is a usage error', async () => {
      const idp = await TestSamlIdp.start();
      try {
        const file = path.join(dir, 'idp-metadata.xml');
        fs.writeFileSync(file, idp.metadata);
        const flags = ['connections', 'create', '--type', 'saml', '--name', 'Corp SAML'];
        ok(await cli(gh, [...flags, '--idp-metadata-file', file]));
        const items = (await gh.admin('GET', '/admin/connections')).body.items as any[];
        const fromFile = items.find((c) => c.slug === 'corp-saml');
        assert.match(fromFile.idp_metadata_xml, /EntityDescriptor/);
        assert.equal(fromFile.sp_entity_id, `${gh.issuer}/saml/corp-saml`);
        ok(await cli(gh, [...flags, '--idp-metadata-url', idp.metadataUrl, '--json', '{"slug":"corp-url"}']));
        const fromUrl = (await gh.admin('GET', '/admin/connections')).body.items.find(
          (c: any) => c.slug === 'corp-url',
        );
        assert.equal(fromUrl.idp_metadata_url, idp.metadataUrl);
        const missing = await cli(gh, [...flags, '--idp-metadata-file', path.join(dir, 'nope.xml')]);
        assert.equal(missing.code, 2, missing.stderr);
        assert.match(missing.stderr, /--idp-metadata-file: cannot read/);
      } finally {
        await idp.close();
      }
    });

    it('Apple: team and key IDs as flags or file fields, the .p8 from the environment', async () => {
      const p8 = newP8();
      const flags = ['connections', 'create', '--type', 'oidc', '--preset', 'apple', '--name', 'Apple'];
      const ids = ['--client-id', 'com.example.signin', '--apple-team-id', 'ABCDE12345'];
      const missing = await cli(gh, [...flags, ...ids, '--client-secret-env', 'APPLE_P8'], { APPLE_P8: p8 });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /apple_key_id: required with preset apple/);
      const made = await cli(
        gh,
        [...flags, ...ids, '--apple-key-id', 'KEY1234567', '--client-secret-env', 'APPLE_P8', '--json', '{}'],
        { APPLE_P8: p8 },
      );
      ok(made);
      assert.ok(!made.stdout.includes('PRIVATE KEY'));
      const stored = (await gh.admin('GET', '/admin/connections')).body.items.find((c: any) => c.slug === 'apple');
      assert.deepEqual([stored.apple_team_id, stored.apple_key_id], ['ABCDE12345', 'KEY1234567']);

      const file = path.join(dir, 'apple.yaml');
      fs.writeFileSync(
        file,
        `connections:
  - type: oidc
    preset: apple
    name: Apple Web
    slug: apple-web
    client_id: com.example.web
    client_secret: \${APPLE_WEB_P8}
    apple_team_id: abcde12345
    apple_key_id: KEY7654321
`,
      );
      const env = { APPLE_WEB_P8: p8 };
      ok(await cli(gh, ['apply', '-f', file], env));
      const again = await cli(gh, ['plan', '-f', file], env);
      ok(again);
      assert.match(again.stdout, /No changes/, 'the team ID compares upper-cased');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('KEY7654321', 'KEY0000000'));
      const changed = await cli(gh, ['plan', '-f', file], env);
      assert.match(changed.stdout, /~ update connection apple-web \(apple_key_id\)/);
      const exported = await cli(gh, ['export']);
      ok(exported);
      assert.ok(!exported.stdout.includes('PRIVATE KEY'));
      const web = parseYaml(exported.stdout).connections.find((c: any) => c.slug === 'apple-web');
      assert.equal(web.apple_team_id, 'ABCDE12345');
      assert.equal(web.client_secret, `$${'{'}APPLE_WEB_CLIENT_SECRET}`);
    });
  });
}
