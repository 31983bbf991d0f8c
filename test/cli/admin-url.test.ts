import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { adminUrlFromServerEnv } from '../../src/cli/admin-client.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/gatehouse.mjs');

/** `gatehouse clients list` with only `env` (and PATH) set, from `cwd`. */
function clientsList(env: Record<string, string>, cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'clients', 'list'], {
      cwd,
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('the CLI finds the admin API where the server put it', () => {
  let gh: RunningGatehouse;
  let cwd: string;
  let adminPort: string;
  before(async () => {
    gh = await startGatehouse('pglite');
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
    adminPort = new URL(gh.adminUrl).port;
  });
  after(async () => {
    await gh?.destroy();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('honours ADMIN_PORT and ADMIN_HOST', async () => {
    const r = await clientsList(
      { ADMIN_PORT: adminPort, ADMIN_HOST: '127.0.0.1', GATEHOUSE_ADMIN_KEY: gh.adminKey },
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    const wildcard = await clientsList(
      { ADMIN_PORT: adminPort, ADMIN_HOST: '0.0.0.0', GATEHOUSE_ADMIN_KEY: gh.adminKey },
      cwd,
    );
    assert.equal(wildcard.code, 0, `a wildcard bind is reached on loopback: ${wildcard.stderr}`);
  });

  it('prefers GATEHOUSE_ADMIN_URL over ADMIN_PORT', async () => {
    const r = await clientsList(
      { GATEHOUSE_ADMIN_URL: gh.adminUrl, ADMIN_PORT: '1', GATEHOUSE_ADMIN_KEY: gh.adminKey },
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    const wrong = await clientsList({ ADMIN_PORT: '1', GATEHOUSE_ADMIN_KEY: gh.adminKey }, cwd);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  it('reads ADMIN_PORT and the admin key from .env in the working directory', async () => {
    fs.writeFileSync(path.join(cwd, '.env'), `ADMIN_PORT=${adminPort}\nGATEHOUSE_ADMIN_KEY=${gh.adminKey}\n`);
    try {
      const r = await clientsList({}, cwd);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      fs.rmSync(path.join(cwd, '.env'));
    }
  });

  it('builds the URL from the server variables', () => {
    assert.equal(adminUrlFromServerEnv({}), 'http://127.0.0.1:3001');
    assert.equal(adminUrlFromServerEnv({ ADMIN_PORT: '4001' }), 'http://127.0.0.1:4001');
    assert.equal(adminUrlFromServerEnv({ ADMIN_HOST: '::1', ADMIN_PORT: '4001' }), 'http://[::1]:4001');
    assert.equal(adminUrlFromServerEnv({ ADMIN_HOST: 'admin.internal' }), 'http://admin.internal:3001');
  });
});
