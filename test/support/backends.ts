import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';

export type BackendName = 'pglite' | 'postgres';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Which backends the suite runs on: both unless TEST_BACKENDS narrows it (e.g. "pglite"). */
export function backends(): BackendName[] {
  const only = process.env.TEST_BACKENDS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return (only?.length ? only : ['pglite', 'postgres']) as BackendName[];
}

/** Storage owned by one test: a fresh database (or PGlite directory) and Redis key prefix, removed by `drop`. */
export interface TestStorage {
  backend: BackendName;
  env: Record<string, string>;
  drop(): Promise<void>;
}

export function tmpRoot(): string {
  const dir = path.join(ROOT, '.test-tmp');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export async function createTestStorage(backend: BackendName): Promise<TestStorage> {
  const id = `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
  const base = { GATEHOUSE_KEYS_DIR: keysDir };
  if (backend === 'pglite') {
    const dataDir = path.join(tmpRoot(), `data_${id}`);
    await copyPgliteTemplate(dataDir);
    return {
      backend,
      env: { ...base, GATEHOUSE_DATA_DIR: dataDir },
      async drop() {
        fs.rmSync(dataDir, { recursive: true, force: true });
        fs.rmSync(keysDir, { recursive: true, force: true });
      },
    };
  }
  const database = `gatehouse_test_${id}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  const prefix = `gh_test_${id}:`;
  return {
    backend,
    env: { ...base, DATABASE_URL: url.toString(), REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix },
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${database} with (force)`);
      await c.end();
      const redis = new Redis(TEST_REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
      fs.rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

/** The migrated database of a test's storage, opened directly (no server); the caller closes it. */
export async function openTestDatabase(storage: TestStorage, poolMax = 4) {
  const { Database } = await import('../../src/storage/database.js');
  const database = await Database.open({
    databaseUrl: storage.env.DATABASE_URL,
    dataDir: storage.env.GATEHOUSE_DATA_DIR ?? '',
    poolMax,
  });
  await database.migrate();
  return database;
}

/**
 * A PGlite database is expensive to create (initdb: seconds, ~800 MB). Build one migrated
 * template per migration set and copy its directory for each test.
 */
async function copyPgliteTemplate(target: string): Promise<void> {
  const migrationsDir = path.join(ROOT, 'migrations');
  const hash = createHash('sha256');
  for (const f of fs.readdirSync(migrationsDir).sort())
    hash.update(f).update(fs.readFileSync(path.join(migrationsDir, f)));
  const template = path.join(tmpRoot(), `pglite-template-${hash.digest('hex').slice(0, 12)}`);
  if (!fs.existsSync(path.join(template, 'ready'))) {
    fs.rmSync(template, { recursive: true, force: true });
    const { Database } = await import('../../src/storage/database.js');
    const db = await Database.open({ dataDir: template, poolMax: 1 });
    await db.migrate();
    await db.close();
    fs.writeFileSync(path.join(template, 'ready'), '');
  }
  fs.cpSync(template, target, {
    recursive: true,
    filter: (src) => !src.endsWith('gatehouse.lock') && !src.endsWith('ready'),
  });
}
