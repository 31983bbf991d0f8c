import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { SqlCredentialRepository } from '../../src/storage/repositories/credentials-repository.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/gatehouse.mjs');
const MARKER = '[gatehouse:managed]';
const PW = 'correct horse battery staple';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs `node bin/gatehouse.mjs …` as a real child process against a running Gatehouse. */
function cli(gh: RunningGatehouse, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { GATEHOUSE_ADMIN_TOKEN: _t, GATEHOUSE_ADMIN_KEY: _k, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: os.tmpdir(), // no keys/admin-key here: the key must come from the environment
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
    child.on('close', (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

const ok = (r: CliResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

describe('gatehouse CLI commands (pglite)', () => {
  let gh: RunningGatehouse;
  before(async () => {
    gh = await startGatehouse('pglite');
  });
  after(async () => {
    await gh?.destroy();
  });

  it('creates, lists, gets and deletes a client, printing JSON or a table', async () => {
    const created = await cli(gh, [
      'clients',
      'create',
      '--name',
      'CLI App',
      '--redirect-uri',
      'http://localhost:8080/callback',
      '--grant-type',
      'authorization_code',
    ]);
    ok(created);
    assert.match(created.json.client_id, /\S/);
    assert.equal(typeof created.json.client_secret, 'string', 'the secret is shown once, at creation');
    const id = created.json.client_id as string;

    const list = await cli(gh, ['clients', 'list']);
    ok(list);
    assert.ok(list.json.some((c: any) => c.client_id === id && c.client_name === 'CLI App'));
    const table = await cli(gh, ['clients', 'list', '--table']);
    ok(table);
    assert.match(table.stdout, /^CLIENT_ID\s+CLIENT_NAME/);
    assert.match(table.stdout, new RegExp(`${id}\\s+CLI App`));

    const got = await cli(gh, ['clients', 'get', id]);
    ok(got);
    assert.equal(got.json.client_name, 'CLI App');
    assert.equal(got.json.client_secret, undefined);

    ok(await cli(gh, ['clients', 'delete', id]));
    assert.equal((await gh.admin('GET', `/admin/clients/${id}`)).status, 404);
  });

  it('manages users by id or email, resources and roles with assignments', async () => {
    const user = await cli(
      gh,
      ['users', 'create', '--email', 'cli-ada@example.test', '--name', 'Ada', '--password-env', 'ADA_PW'],
      { ADA_PW: 'correct horse battery staple' },
    );
    ok(user);
    assert.equal(user.json.email, 'cli-ada@example.test');
    const byEmail = await cli(gh, ['users', 'get', 'cli-ada@example.test']);
    ok(byEmail);
    assert.equal(byEmail.json.id, user.json.id);
    const disabled = await cli(gh, ['users', 'disable', user.json.id]);
    ok(disabled);
    assert.equal(disabled.json.disabled, true);
    const unlocked = await cli(gh, ['users', 'unlock', 'cli-ada@example.test']);
    ok(unlocked);
    assert.equal(unlocked.json.failed_attempts, 0);
    assert.equal(unlocked.json.locked_until, null);

    ok(
      await cli(gh, [
        'resources',
        'create',
        'https://cli-api.example',
        '--name',
        'CLI API',
        '--scope',
        'things:read=Read things',
      ]),
    );
    ok(await cli(gh, ['roles', 'create', 'thing-reader', '--permission', 'https://cli-api.example things:read']));
    ok(await cli(gh, ['roles', 'assign', 'thing-reader', '--user', 'cli-ada@example.test']));
    const held = await gh.admin('GET', `/admin/users/${user.json.id}/roles`);
    assert.deepEqual(
      held.body.items.map((r: any) => r.name),
      ['thing-reader'],
    );
    ok(await cli(gh, ['roles', 'unassign', 'thing-reader', '--user', user.json.id]));
    const roles = await cli(gh, ['roles', 'list', '--table']);
    ok(roles);
    assert.match(roles.stdout, /thing-reader\s+https:\/\/cli-api\.example things:read/);
  });

  it('lists a user’s second factors and removes one, then all (the password stays)', async () => {
    const user = (await gh.admin('POST', '/admin/users', { email: 'cli-factors@example.test', password: PW })).body;
    const credentials = new SqlCredentialRepository(gh.instance.database);
    const totp = await credentials.insert({ id: randomUUID(), userId: user.id, type: 'totp', secretSealed: 'x' });
    const passkey = await credentials.insert({
      id: randomUUID(),
      userId: user.id,
      type: 'passkey',
      name: 'Phone',
      externalId: randomUUID(),
    });

    const listed = await cli(gh, ['users', 'factors', 'cli-factors@example.test']);
    ok(listed);
    assert.deepEqual(listed.json.map((f: any) => f.id).sort(), [totp.id, passkey.id].sort());
    const table = await cli(gh, ['users', 'factors', user.id, '--table']);
    ok(table);
    assert.match(table.stdout, /^ID\s+TYPE\s+NAME\s+CREATED_AT\s+LAST_USED_AT/);
    assert.match(table.stdout, new RegExp(`${passkey.id}\\s+passkey\\s+Phone`));

    const one = await cli(gh, ['users', 'reset-factors', user.id, '--factor', totp.id]);
    ok(one);
    assert.deepEqual(one.json, { removed: 1, factor: totp.id });
    const unknown = await cli(gh, ['users', 'reset-factors', user.id, '--factor', totp.id]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not_found/);

    const all = await cli(gh, ['users', 'reset-factors', 'cli-factors@example.test']);
    ok(all);
    assert.deepEqual(all.json, { removed: 1 });
    assert.deepEqual((await gh.admin('GET', `/admin/users/${user.id}/factors`)).body, []);
    assert.equal((await credentials.listFor(user.id, 'password')).length, 1);
    const audited = await gh.admin('GET', `/admin/audit-events?type=factor.removed&user=${user.id}`);
    assert.equal(audited.body.items.length, 2);

    const usage = await cli(gh, ['users', 'reset-factors']);
    assert.equal(usage.code, 2);
  });

  it('tails the audit log as one JSON object per line, filtered by type', async () => {
    const tail = await cli(gh, ['audit', 'tail', '--type', 'role.created', '--limit', '5']);
    ok(tail);
    const events = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(events.length >= 1);
    assert.ok(events.every((e) => e.type === 'role.created'));
  });

  it('lists, rotates (staged) and revokes signing keys', async () => {
    const listed = await cli(gh, ['keys', 'list']);
    ok(listed);
    assert.equal(listed.json.filter((k: { state: string }) => k.state === 'current').length, 3);
    const staged = await cli(gh, ['keys', 'rotate', '--alg', 'EdDSA', '--publish-seconds', '3600']);
    ok(staged);
    assert.equal(staged.json.items[0].state, 'next');
    assert.equal(staged.json.items[0].alg, 'EdDSA');
    const table = await cli(gh, ['keys', 'list', '--table']);
    ok(table);
    assert.match(table.stdout, new RegExp(`${staged.json.items[0].kid}\\s+EdDSA\\s+next`));
    const revoked = await cli(gh, ['keys', 'revoke', staged.json.items[0].kid]);
    ok(revoked);
    assert.equal(revoked.json.revoked.state, 'retired');
    const tooSoon = await cli(gh, ['keys', 'rotate', '--publish-seconds', '1']);
    assert.equal(tooSoon.code, 1);
    assert.match(tooSoon.stderr, /publish_seconds/);
    assert.equal((await cli(gh, ['keys', 'rotate', '--publish-seconds', 'soon'])).code, 2);
  });

  it('exits 2 on bad usage, with a hint', async () => {
    for (const args of [
      ['clients', 'frobnicate'],
      ['clients', 'get'],
      ['nonsense'],
      ['clients', 'list', '--no-such-flag'],
      ['roles', 'assign', 'x'],
      ['plan'],
      [],
    ]) {
      const r = await cli(gh, args);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code} ${r.stderr}`);
      if (args.length) assert.match(r.stderr, /gatehouse --help/);
    }
  });

  it('exits 1 on an API error and prints error and error_description', async () => {
    const missing = await cli(gh, ['clients', 'get', 'no-such-client']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found: client not found/);
    const bad = await cli(gh, ['clients', 'create', '--name', 'x', '--redirect-uri', 'javascript:alert(1)']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid_(client_metadata|redirect_uri): /);
    // Key ids and client ids are base64url: one may begin with "-" and is still a value, not an option.
    for (const args of [
      ['keys', 'revoke', '-yQ0nNoSuchKid'],
      ['clients', 'get', '-no-such-client'],
      ['audit', 'tail', '--client', '-x1'],
    ]) {
      const dashed = await cli(gh, args);
      assert.doesNotMatch(dashed.stderr, /Unknown option|ambiguous/, args.join(' '));
      if (args[0] === 'audit') ok(dashed);
      else {
        assert.equal(dashed.code, 1, `${args.join(' ')} → ${dashed.code} ${dashed.stderr}`);
        assert.match(dashed.stderr, /not_found/);
      }
    }
    const wrongKey = await cli(gh, ['users', 'list'], { GATEHOUSE_ADMIN_KEY: 'wrong' });
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /unauthorized/);
  });
});

for (const backend of backends()) {
  describe(`gatehouse plan / apply / export (${backend})`, () => {
    let gh: RunningGatehouse;
    let dir: string;
    let userId: string;
    const write = (name: string, text: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const CONFIG = `
resources:
  - indicator: https://orders.example
    name: Orders API
    scopes:
      - {name: "orders:read", description: Read orders}
      - {name: "orders:write"}
roles:
  - name: orders-reader
    description: Reads orders
    permissions: [{resource: "https://orders.example", scope: "orders:read"}]
clients:
  - client_name: Orders web
    redirect_uris: [http://127.0.0.1:8080/callback]
    grant_types: [authorization_code, refresh_token]
  - client_name: Billing job
    grant_types: [client_credentials]
    scope: orders:read
user_roles:
  - email: ops@example.test
    roles: [orders-reader]
`;

    before(async () => {
      gh = await startGatehouse(backend);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
      userId = (await gh.admin('POST', '/admin/users', { email: 'ops@example.test' })).body.id;
    });
    after(async () => {
      await gh?.destroy();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('plans every create on an empty server, applies them once, and a second apply changes nothing', async () => {
      const file = write('gatehouse.yaml', CONFIG);
      const plan = await cli(gh, ['plan', '-f', file]);
      ok(plan);
      assert.deepEqual(plan.stdout.trim().split('\n'), [
        '+ create resource https://orders.example',
        '+ create role orders-reader',
        '+ create client "Orders web"',
        '+ create client "Billing job"',
        '+ assign role orders-reader to ops@example.test',
        'Plan: 5 change(s).',
      ]);
      assert.equal(
        (await gh.admin('GET', '/admin/resources')).body.items.filter((r: any) => !r.built_in).length,
        0,
        'plan changed nothing',
      );

      const applied = await cli(gh, ['apply', '-f', file]);
      ok(applied);
      assert.match(applied.stdout, /client "Orders web": client_id \S+, client_secret \S+ \(shown once/);
      const resource = (await gh.admin('GET', `/admin/resources/${encodeURIComponent('https://orders.example')}`)).body;
      assert.equal(resource.name, `Orders API ${MARKER}`);
      const roles = (await gh.admin('GET', `/admin/users/${userId}/roles`)).body.items;
      assert.deepEqual(
        roles.map((r: any) => r.name),
        ['orders-reader'],
      );

      const again = await cli(gh, ['apply', '-f', file]);
      ok(again);
      assert.equal(again.stdout.trim(), 'No changes. The server matches the file.');
      const plan2 = await cli(gh, ['plan', '-f', file]);
      ok(plan2);
      assert.equal(plan2.stdout.trim(), 'No changes. The server matches the file.');
    });

    it('updates and deletes only what apply created, never objects made by hand', async () => {
      const handMade = (
        await gh.admin('POST', '/admin/clients', { client_name: 'Hand made', grant_types: ['client_credentials'] })
      ).body;
      await gh.admin('POST', '/admin/roles', { name: 'hand-role', permissions: [] });
      await gh.admin('PUT', `/admin/users/${userId}/roles/hand-role`);
      const changed = CONFIG.replace('description: Reads orders', 'description: Reads all orders').replace(
        / {2}- client_name: Billing job\n.*\n.*\n/,
        '',
      );
      const file = write('changed.yaml', changed);
      const plan = await cli(gh, ['plan', '-f', file]);
      ok(plan);
      assert.match(plan.stdout, /^~ update role orders-reader \(description\)$/m);
      assert.match(plan.stdout, /^- delete client "Billing job" \(\S+\)$/m);
      assert.doesNotMatch(plan.stdout, /Hand made|hand-role/);
      ok(await cli(gh, ['apply', '-f', file]));
      assert.equal((await gh.admin('GET', `/admin/clients/${handMade.client_id}`)).status, 200);
      const held = (await gh.admin('GET', `/admin/users/${userId}/roles`)).body.items.map((r: any) => r.name).sort();
      assert.deepEqual(held, ['hand-role', 'orders-reader']);
      const again = await cli(gh, ['plan', '-f', file]);
      assert.equal(again.stdout.trim(), 'No changes. The server matches the file.');
    });

    it('exports the state so that applying the export changes nothing', async () => {
      const exported = await cli(gh, ['export']);
      ok(exported);
      assert.doesNotMatch(exported.stdout, /gatehouse:managed|managed-by-gatehouse-apply/, 'markers stay hidden');
      assert.match(exported.stdout, /indicator: https:\/\/orders\.example/);
      assert.match(exported.stdout, /email: ops@example.test/);
      const file = write('export.yaml', exported.stdout);
      const plan = await cli(gh, ['plan', '-f', file]);
      ok(plan);
      assert.equal(plan.stdout.trim(), 'No changes. The server matches the file.');
      const applied = await cli(gh, ['apply', '-f', file]);
      ok(applied);
      assert.equal(applied.stdout.trim(), 'No changes. The server matches the file.');
    });

    it('refuses a literal secret and an unset environment reference with exit 2', async () => {
      const literal = write('literal.yaml', 'clients:\n  - client_name: Leaky\n    client_secret: hunter2\n');
      for (const cmd of ['plan', 'apply']) {
        const r = await cli(gh, [cmd, '-f', literal]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /clients\[0\]\.client_secret is a secret: write it as an environment reference/);
      }
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${VAR} reference syntax
      const unset = write('unset.yaml', 'clients:\n  - client_name: ${GH_TEST_UNSET_NAME}\n');
      const r = await cli(gh, ['plan', '-f', unset]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /GH_TEST_UNSET_NAME is not set/);
      const fromEnv = await cli(gh, ['plan', '-f', unset], { GH_TEST_UNSET_NAME: 'From env' });
      ok(fromEnv);
      assert.match(fromEnv.stdout, /\+ create client "From env"/);
      assert.equal(
        (await gh.admin('GET', '/admin/clients')).body.items.some((c: any) => c.client_name === 'Leaky'),
        false,
      );
    });

    it('refuses to apply when the file would change an object apply did not create', async () => {
      await gh.admin('POST', '/admin/roles', { name: 'not-mine', description: 'by hand', permissions: [] });
      const file = write(
        'conflict.yaml',
        'roles:\n  - name: not-mine\n    description: from the file\n    permissions: []\n',
      );
      const r = await cli(gh, ['apply', '-f', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /role not-mine exists but was not created by gatehouse apply/);
      assert.equal((await gh.admin('GET', '/admin/roles/not-mine')).body.description, 'by hand');
    });

    it('assigns the roles listed under a client, after creating it, and takes away the ones dropped', async () => {
      const withRoles = (roles: string) => `
resources:
  - indicator: https://stock.example
    scopes: [{name: "stock:read"}]
roles:
  - name: stock-reader
    permissions: [{resource: "https://stock.example", scope: "stock:read"}]
clients:
  - client_name: Stock job
    grant_types: [client_credentials]
    scope: stock:read
    roles: ${roles}
`;
      const file = write('client-roles.yaml', withRoles('[stock-reader]'));
      const plan = await cli(gh, ['plan', '-f', file]);
      ok(plan);
      const lines = plan.stdout.trim().split('\n');
      const at = (line: string) => {
        const i = lines.indexOf(line);
        assert.ok(i >= 0, `${line} missing from\n${plan.stdout}`);
        return i;
      };
      at('+ create resource https://stock.example');
      at('+ create role stock-reader');
      assert.ok(
        at('+ create client "Stock job"') < at('+ assign role stock-reader to client "Stock job"'),
        'assigned after the create',
      );

      ok(await cli(gh, ['apply', '-f', file]));
      const client = (await gh.admin('GET', '/admin/clients')).body.items.find(
        (c: any) => c.client_name === 'Stock job',
      );
      assert.equal(client.roles, undefined, 'roles is not client metadata');
      const rolesOf = async () =>
        (await gh.admin('GET', `/admin/clients/${client.client_id}/roles`)).body.items.map((r: any) => r.name);
      assert.deepEqual(await rolesOf(), ['stock-reader']);
      const again = await cli(gh, ['apply', '-f', file]);
      ok(again);
      assert.equal(again.stdout.trim(), 'No changes. The server matches the file.');

      const exported = await cli(gh, ['export']);
      ok(exported);
      assert.match(exported.stdout, /client_name: Stock job\n(?: {4}.*\n)* {4}roles:\n {6}- stock-reader/);
      const replan = await cli(gh, ['plan', '-f', write('client-roles-export.yaml', exported.stdout)]);
      ok(replan);
      assert.equal(replan.stdout.trim(), 'No changes. The server matches the file.');

      const dropped = write('client-roles.yaml', withRoles('[]'));
      const plan2 = await cli(gh, ['plan', '-f', dropped]);
      ok(plan2);
      assert.deepEqual(plan2.stdout.trim().split('\n'), [
        '- unassign role stock-reader from client "Stock job"',
        'Plan: 1 change(s).',
      ]);
      ok(await cli(gh, ['apply', '-f', dropped]));
      assert.deepEqual(await rolesOf(), []);
    });

    it('sets require_mfa and require_phishing_resistant on a client, and plans a change of them', async () => {
      const strict = (mfa: boolean) => `
clients:
  - client_name: Payroll
    redirect_uris: [http://127.0.0.1:8080/payroll]
    require_mfa: ${mfa}
    require_phishing_resistant: true
`;
      const file = write('strict.yaml', strict(true));
      ok(await cli(gh, ['apply', '-f', file]));
      const find = async () =>
        (await gh.admin('GET', '/admin/clients')).body.items.find((c: any) => c.client_name === 'Payroll');
      const created = await find();
      assert.equal(created.require_mfa, true);
      assert.equal(created.require_phishing_resistant, true);
      const plan = await cli(gh, ['plan', '-f', write('strict.yaml', strict(false))]);
      ok(plan);
      assert.match(plan.stdout, /^~ update client "Payroll" \(require_mfa\)$/m);
      ok(await cli(gh, ['apply', '-f', file])); // the file now says false
      assert.equal((await find()).require_mfa, false);
      const bad = await cli(gh, [
        'plan',
        '-f',
        write('bad.yaml', strict(true).replace('true\n    require_p', '"yes"\n    require_p')),
      ]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /require_mfa/);
    });
  });
}
