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

    it('stores a batch written twice (a retry after an unacknowledged commit) once, in order', async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `idem-${randomUUID()}`;
      const events = [1, 2, 3, 4, 5].map((i) => ({
        type: 'token.issued' as const, actor: `client:${clientId}` as const, clientId, occurredAt: new Date(), data: { n: i },
      }));
      const batch = { key: randomUUID(), events };
      await repo.insertBatch(batch);
      await repo.insertBatch(batch);
      await repo.insertBatch({ key: randomUUID(), events: [{ ...events[0]!, data: { n: 6 } }] });
      const rows = await database.db()('audit_events').where({ client_id: clientId }).orderBy('id').select('data');
      const n = rows.map((r: { data: unknown }) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data).n);
      assert.deepEqual(n, [1, 2, 3, 4, 5, 6], 'five events once and in order, then the new batch');
    });

    it('stores a one-event batch once too, and nothing for an empty batch', async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `idem-${randomUUID()}`;
      const batch = { key: randomUUID(), events: [{ type: 'logout' as const, actor: 'system' as const, clientId, occurredAt: new Date(), data: {} }] };
      await repo.insertBatch(batch);
      await repo.insertBatch(batch);
      await repo.insertBatch({ key: randomUUID(), events: [] });
      const rows = await database.db()('audit_events').where({ client_id: clientId }).count<{ count: string }[]>({ count: '*' });
      assert.equal(Number(rows[0]!.count), 1);
    });
  });
}
