import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { backends, PG_ADMIN_URL, TEST_REDIS_URL, type TestStorage } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { assertDataIntact, seedData, type SeededData } from '../support/seeded-data.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/gatehouse.mjs');

function gatehouseCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH! },
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
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The source is always embedded (PGlite) and the target always PostgreSQL: the test needs both.
const runs = backends().includes('pglite') && backends().includes('postgres');

describe('gatehouse migrate-data: embedded PGlite → PostgreSQL', { skip: !runs && 'needs both backends' }, () => {
  let source: RunningGatehouse;
  let seeded: SeededData;
  let target: TestStorage;
  const database = `gatehouse_move_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });

  before(async () => {
    source = await startGatehouse('pglite');
    seeded = await seedData(source);
    await admin.connect();
    await admin.query(`create database ${database}`);
    const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
    // The key-encryption key moves with the data: the signing keys in the database are encrypted under it.
    fs.cpSync(source.env.GATEHOUSE_KEYS_DIR!, keysDir, { recursive: true });
    const prefix = `gh_test_${database}:`;
    target = {
      backend: 'postgres',
      env: {
        GATEHOUSE_KEYS_DIR: keysDir,
        DATABASE_URL: url.toString(),
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
      },
      async drop() {
        await admin.query(`drop database if exists ${database} with (force)`);
        const redis = new Redis(TEST_REDIS_URL);
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        await redis.quit();
        fs.rmSync(keysDir, { recursive: true, force: true });
      },
    };
  });
  after(async () => {
    await source?.destroy();
    await target?.drop();
    await admin.end();
  });

  it('refuses to read a data directory that a running Gatehouse serves', async () => {
    const r = await gatehouseCli(['migrate-data', '--from', source.env.GATEHOUSE_DATA_DIR!, '--to', url.toString()]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^gatehouse: data directory .* is in use by another Gatehouse process/);
  });

  it('copies every table, and the data works when served from PostgreSQL', async () => {
    await source.stop();
    const r = await gatehouseCli(['migrate-data', '--from', source.env.GATEHOUSE_DATA_DIR!, '--to', url.toString()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}users: 1 row$/m);
    assert.match(r.stdout, /^ {2}clients: 2 rows$/m);
    assert.match(r.stdout, /^ {2}user_roles: 1 row$/m);
    assert.match(r.stdout, /^done: \d+ rows in \d+ tables/m);
    // Parents before children.
    assert.ok(r.stdout.indexOf('  users:') < r.stdout.indexOf('  user_roles:'));

    const moved = await startGatehouse('postgres', { storage: target, port: source.port });
    try {
      await assertDataIntact(moved, seeded);
      // New rows get new ids after the copied ones (sequences moved on).
      const events = await moved.admin('GET', '/admin/audit-events?limit=1');
      assert.equal(events.status, 200);
    } finally {
      await moved.stop();
    }
  });

  it('refuses a target that holds data unless --force', async () => {
    const again = await gatehouseCli([
      'migrate-data',
      '--from',
      source.env.GATEHOUSE_DATA_DIR!,
      '--to',
      url.toString(),
    ]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^gatehouse: the target database already holds data \(.*users.*\); .*--force/);
    assert.doesNotMatch(again.stderr, /\n\s+at /, 'no stack trace');
    const forced = await gatehouseCli([
      'migrate-data',
      '--from',
      source.env.GATEHOUSE_DATA_DIR!,
      '--to',
      url.toString(),
      '--force',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    const { rows } = await c.query('select count(*)::int as n from users');
    await c.end();
    assert.equal(rows[0].n, 1, 'emptied, then copied once');
  });
});
