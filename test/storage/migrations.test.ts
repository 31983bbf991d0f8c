import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Database } from '../../src/storage/database.js';
import { migrationSource } from '../../src/storage/migration-source.js';
import { backends, createTestStorage, type TestStorage } from '../support/backends.js';

const shipped = async () =>
  (await migrationSource.getMigrations([])).map((file) => migrationSource.getMigrationName(file));

/** The statements knex sends while `fn` runs. */
async function statements(database: Database, fn: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const listener = (query: { sql: string }) => sent.push(query.sql);
  database.db().on('query', listener);
  try {
    await fn();
  } finally {
    database.db().off('query', listener);
  }
  return sent;
}

for (const backend of backends()) {
  describe(`migrations at start (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;

    before(async () => {
      storage = await createTestStorage(backend);
      database = await Database.open({
        databaseUrl: storage.env.DATABASE_URL,
        dataDir: storage.env.GATEHOUSE_DATA_DIR ?? '',
        poolMax: 2,
      });
    });
    after(async () => {
      await database?.close();
      await storage?.drop();
    });

    it('a new database gets every migration; an up-to-date one costs one SELECT and no lock', async () => {
      const first = await database.migrate();
      // PGlite's test databases are copies of a migrated template; PostgreSQL's start empty.
      if (backend === 'postgres') assert.deepEqual(first, await shipped());
      const sent = await statements(database, async () => assert.deepEqual(await database.migrate(), []));
      assert.equal(sent.length, 1, sent.join('\n'));
      assert.match(sent[0]!, /^select "name" from "knex_migrations"$/);
    });

    it('applies a migration that is pending on a migrated database, through knex and its lock', async () => {
      const last = (await shipped()).at(-1)!;
      await database.db().migrate.down({ migrationSource, tableName: 'knex_migrations' });
      const sent = await statements(database, async () => assert.deepEqual(await database.migrate(), [last]));
      assert.ok(
        sent.some((sql) => /knex_migrations_lock/.test(sql)),
        'the full run, under the migration lock',
      );
      assert.deepEqual(await database.migrate(), []);
    });

    it('still refuses a database migrated past what this version knows, and changes nothing', async () => {
      const table = () => database.db()('knex_migrations');
      await table().insert({ name: '999_from_a_newer_version', batch: 99, migration_time: new Date() });
      try {
        await assert.rejects(database.migrate(), /corrupt/);
        const names = (await table().select('name')).map((row) => row.name);
        assert.ok(names.includes('999_from_a_newer_version'));
        assert.equal(names.length, (await shipped()).length + 1);
      } finally {
        await table().where({ name: '999_from_a_newer_version' }).delete();
      }
      assert.deepEqual(await database.migrate(), []);
    });
  });
}
