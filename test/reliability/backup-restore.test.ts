import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { backends, PG_ADMIN_URL, TEST_REDIS_URL, tmpRoot, type TestStorage } from '../support/backends.js';
import { startGatehouse } from '../support/gatehouse.js';
import { assertDataIntact, seedData } from '../support/seeded-data.js';

/**
 * The backup and restore procedures of docs/operations.md ("Backup and restore"), run as written:
 * embedded — stop, copy the data directory; PostgreSQL — pg_dump, restore with psql into a new
 * database. Each restored copy is then served by Gatehouse and the data works.
 */
describe('backup and restore', () => {
  if (backends().includes('pglite'))
    it('embedded: a copy of the stopped data directory serves the same data', async () => {
      const gh = await startGatehouse('pglite');
      const seeded = await seedData(gh);
      await gh.stop();

      // The backup: the data directory (stopped) and, kept apart from it, the keys directory.
      const backup = fs.mkdtempSync(path.join(tmpRoot(), 'backup-'));
      fs.cpSync(gh.env.GATEHOUSE_DATA_DIR!, path.join(backup, 'data'), { recursive: true });
      fs.cpSync(gh.env.GATEHOUSE_KEYS_DIR!, path.join(backup, 'keys'), { recursive: true });
      await gh.destroy(); // the original is gone

      // The restore: copy back to a new place and start there.
      const restoredData = path.join(tmpRoot(), `restored-${randomBytes(4).toString('hex')}`);
      const restoredKeys = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
      fs.cpSync(path.join(backup, 'data'), restoredData, { recursive: true });
      fs.cpSync(path.join(backup, 'keys'), restoredKeys, { recursive: true });
      const storage: TestStorage = {
        backend: 'pglite',
        env: { GATEHOUSE_DATA_DIR: restoredData, GATEHOUSE_KEYS_DIR: restoredKeys },
        async drop() {
          for (const d of [restoredData, restoredKeys, backup]) fs.rmSync(d, { recursive: true, force: true });
        },
      };
      const restored = await startGatehouse('pglite', { storage, port: gh.port });
      try {
        await assertDataIntact(restored, seeded);
      } finally {
        await restored.destroy();
        await storage.drop();
      }
    });

  if (backends().includes('postgres'))
    it('PostgreSQL: pg_dump restored with psql into a new database serves the same data', async () => {
      const gh = await startGatehouse('postgres');
      const seeded = await seedData(gh);
      await gh.stop();

      const dump = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-dump-')), 'gatehouse.sql');
      execFileSync('pg_dump', ['--no-owner', '--no-privileges', '--file', dump, gh.env.DATABASE_URL!]);

      const database = `gatehouse_restore_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      await admin.query(`create database ${database}`);
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${database}`;
      execFileSync('psql', ['--quiet', '--no-psqlrc', '-v', 'ON_ERROR_STOP=1', '--file', dump, url.toString()], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });

      const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
      fs.cpSync(gh.env.GATEHOUSE_KEYS_DIR!, keysDir, { recursive: true });
      const storage: TestStorage = {
        backend: 'postgres',
        env: {
          GATEHOUSE_KEYS_DIR: keysDir,
          DATABASE_URL: url.toString(),
          REDIS_URL: TEST_REDIS_URL,
          REDIS_KEY_PREFIX: `gh_test_${database}:`,
        },
        async drop() {
          await admin.query(`drop database if exists ${database} with (force)`);
          await admin.end();
          const redis = new Redis(TEST_REDIS_URL);
          const keys = await redis.keys(`gh_test_${database}:*`);
          if (keys.length) await redis.del(...keys);
          await redis.quit();
          fs.rmSync(keysDir, { recursive: true, force: true });
          fs.rmSync(path.dirname(dump), { recursive: true, force: true });
        },
      };
      await gh.destroy(); // the original database is dropped
      const restored = await startGatehouse('postgres', { storage, port: gh.port });
      try {
        await assertDataIntact(restored, seeded);
      } finally {
        await restored.destroy();
        await storage.drop();
      }
    });
});
