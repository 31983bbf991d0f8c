import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestStorage, PG_ADMIN_URL } from '../support/backends.js';
import { freePort } from '../support/gatehouse.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `src/main.ts` as `npm start` does, from `cwd` (where a .env may lie), with only `env`
 * (and PATH) in its environment. Resolves at exit, or once it logs "gatehouse listening" (the
 * child is then returned running, for the caller to stop).
 */
function startMain(env: Record<string, string>, cwd = os.tmpdir()): Promise<Run & { child?: ChildProcess }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN], {
      cwd,
      env: { PATH: process.env.PATH!, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { code: null, stdout: '', stderr: '' };
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout!.on('data', (d) => {
      run.stdout += d;
      if (run.stdout.includes('gatehouse listening')) {
        clearTimeout(timer);
        resolve({ ...run, child });
      }
    });
    child.stderr!.on('data', (d) => {
      run.stderr += d;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ...run, code });
    });
  });
}

function stop(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.on('exit', () => resolve(out));
    child.kill('SIGTERM');
  });
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-first-'));

describe('first start, as a new user meets it', () => {
  it('exits 78 naming ISSUER when it has no http(s) scheme, before any data or key file exists', async () => {
    const root = tmp();
    const dataDir = path.join(root, 'data');
    const keysDir = path.join(root, 'keys');
    const r = await startMain({ ISSUER: 'localhost:3000', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_KEYS_DIR: keysDir });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /ISSUER: must be an http:\/\/ or https:\/\/ URL/);
    assert.equal(fs.existsSync(dataDir), false, 'no database was created');
    assert.equal(fs.existsSync(keysDir), false, 'no key file was created');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('reads .env (the real environment wins), defaults ISSUER to http://localhost:$PORT, makes the data directory 0700 and logs JSON with ISO times', async () => {
    const storage = await createTestStorage('pglite');
    const dataDir = storage.env.GATEHOUSE_DATA_DIR!;
    fs.chmodSync(dataDir, 0o755); // as a copied or hand-made directory often is
    const cwd = tmp();
    const port = await freePort();
    const adminPort = await freePort();
    // .env names a wrong admin port; the real environment's ADMIN_PORT must win over it.
    fs.writeFileSync(
      path.join(cwd, '.env'),
      `PORT=${port}\nHOST=127.0.0.1\nADMIN_PORT=1\nLOG_LEVEL=info\n` +
        `ARGON2_MEMORY_KIB=8192\nGATEHOUSE_DATA_DIR=${dataDir}\n`,
    );
    const r = await startMain(
      {
        ADMIN_PORT: String(adminPort),
        GATEHOUSE_KEYS_DIR: storage.env.GATEHOUSE_KEYS_DIR!,
        GATEHOUSE_ADMIN_KEY: 'k'.repeat(40),
      },
      cwd,
    );
    try {
      assert.ok(r.child, `did not start: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
      const discovery = (await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
      };
      assert.equal(discovery.issuer, `http://localhost:${port}`);
      const admin = await fetch(`http://127.0.0.1:${adminPort}/admin/clients`, {
        headers: { authorization: `Bearer ${'k'.repeat(40)}` },
      });
      assert.equal(admin.status, 200, "the admin API listens on the real environment's ADMIN_PORT");
      assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);

      const lines = r.stdout.trim().split('\n');
      for (const line of lines) {
        const record = JSON.parse(line) as { time: string };
        assert.match(record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
      }
      assert.doesNotMatch(r.stderr, /oidc-provider WARNING/, 'library warnings do not bypass the logger');
      if (Number(process.versions.node.split('.')[0]) < 22) {
        const warning = lines.map((l) => JSON.parse(l)).find((x) => /Unsupported runtime/.test(x.msg));
        assert.ok(warning, "oidc-provider's runtime warning arrives as a JSON record");
        assert.equal(warning.level, 40);
      }
    } finally {
      if (r.child) await stop(r.child);
      await storage.drop();
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('refuses an embedded data directory it cannot make private (exit 77), naming it', {
    skip: !fs.existsSync('/proc/1') && 'needs Linux /proc',
  }, async () => {
    // /proc/1 exists and refuses chmod even to root: the stand-in for another user's directory.
    const r = await startMain({ GATEHOUSE_DATA_DIR: '/proc/1', GATEHOUSE_KEYS_DIR: path.join(tmp(), 'keys') });
    assert.equal(r.code, 77, r.stderr);
    assert.match(
      r.stderr,
      /^gatehouse: data directory \/proc\/1 must be private \(mode 0700\) but chmod failed \(EPERM.*chmod 700 \/proc\/1\n$/,
    );
  });

  it('answers a refused PostgreSQL connection with a one-line hint and no stack', async () => {
    const closed = await freePort();
    const keysDir = path.join(tmp(), 'keys');
    const r = await startMain({
      DATABASE_URL: `postgres://gh:secret@127.0.0.1:${closed}/gatehouse`,
      GATEHOUSE_KEYS_DIR: keysDir,
    });
    assert.notEqual(r.code, 0);
    assert.ok(!r.child);
    assert.match(
      r.stderr,
      new RegExp(`^gatehouse: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${closed}: connection refused.*\\n$`),
    );
    assert.doesNotMatch(r.stderr, /secret/, 'the password is not printed');
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('names a database that does not exist', async () => {
    const url = new URL(PG_ADMIN_URL);
    url.pathname = '/gatehouse_no_such_database';
    const r = await startMain({ DATABASE_URL: url.toString(), GATEHOUSE_KEYS_DIR: path.join(tmp(), 'keys') });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /^gatehouse: database "gatehouse_no_such_database" does not exist on .*createdb gatehouse_no_such_database.*\n$/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
  });
});
