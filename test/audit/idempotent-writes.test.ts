import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Database } from '../../src/storage/database.js';
import { SqlAuditEventRepository } from '../../src/storage/repositories/audit-events-repository.js';
import { backends, createTestStorage, type TestStorage } from '../support/backends.js';

for (const backend of backends()) {
  describe(`audit writes are idempotent (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;
    before(async () => {
      storage = await createTestStorage(backend);
      database = await Database.open({ databaseUrl: storage.env.DATABASE_URL, dataDir: storage.env.GATEHOUSE_DATA_DIR ?? '', poolMax: 2 });
      await database.migrate();
    });
    after(async () => {
      await database?.close();
      await storage?.drop();
    });

    it('stores a batch written twice (a retry after an unacknowledged commit) once', async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `idem-${randomUUID()}`;
      const batch = [1, 2, 3].map((i) => ({
        type: "token.issued" as const, actor: `client:${clientId}` as const, clientId, occurredAt: new Date(), data: { n: i }, key: randomUUID(),
      }));
      await repo.insertMany(batch);
      await repo.insertMany(batch);
      await repo.insertMany([{ ...batch[0]!, key: randomUUID() }]);
      const rows = await database.db()('audit_events').where({ client_id: clientId }).count<{ count: string }[]>({ count: '*' });
      assert.equal(Number(rows[0]!.count), 4, 'three events once, and one new event');
    });
  });
}
