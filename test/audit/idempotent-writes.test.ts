import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/domain/audit/audit-event.js';
import type { AuditBatch } from '../../src/domain/audit/audit-log.js';
import { StorageUnavailable } from '../../src/domain/errors.js';
import { Database } from '../../src/storage/database.js';
import { SqlAuditEventRepository } from '../../src/storage/repositories/audit-events-repository.js';
import { FaultProxy } from '../faults/support/fault-proxy.js';
import { backends, createTestStorage, openTestDatabase, type TestStorage } from '../support/backends.js';

/** A batch opened by `repo`, holding `events`. */
function batchOf(repo: SqlAuditEventRepository, events: AuditEvent[]): AuditBatch {
  const batch = repo.openBatch(randomUUID());
  for (const event of events) batch.append(event);
  return batch;
}

for (const backend of backends()) {
  describe(`audit writes are idempotent (${backend})`, () => {
    let storage: TestStorage;
    let database: Database;
    before(async () => {
      storage = await createTestStorage(backend);
      database = await openTestDatabase(storage, 2);
    });
    after(async () => {
      await database?.close();
      await storage?.drop();
    });

    it('stores a batch written twice (a retry after an unacknowledged commit) once, in order', async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `idem-${randomUUID()}`;
      const events = [1, 2, 3, 4, 5].map((i) => ({
        type: 'token.issued' as const,
        actor: `client:${clientId}` as const,
        clientId,
        occurredAt: new Date(),
        data: { n: i },
      }));
      const batch = batchOf(repo, events);
      await repo.insertBatch(batch);
      await repo.insertBatch(batch);
      await repo.insertBatch(batchOf(repo, [{ ...events[0]!, data: { n: 6 } }]));
      const rows = await database.db()('audit_events').where({ client_id: clientId }).orderBy('id').select('data');
      const n = rows.map((r: { data: unknown }) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data).n);
      assert.deepEqual(n, [1, 2, 3, 4, 5, 6], 'five events once and in order, then the new batch');
    });

    it('stores every value exactly as given: tabs, line breaks, backslashes, a literal \\N, quotes, non-ASCII', async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `exact-${randomUUID()}`;
      const awkward = 'a\tb\nc\rd\\e \\N "q" \'s\' ünï 🔑 \\\\t';
      const events = [
        {
          type: 'login.failed' as const,
          actor: 'anonymous' as const,
          subject: '\\N',
          clientId,
          ip: '::1',
          userAgent: awkward,
          requestId: 'r\t1',
          occurredAt: new Date('2026-01-02T03:04:05.678Z'),
          data: { reason: awkward, nested: { list: [awkward, 1, null, true] } },
        },
        {
          type: 'login.failed' as const,
          actor: 'anonymous' as const,
          clientId,
          occurredAt: new Date('2026-01-02T03:04:06.000Z'),
          data: {},
        },
      ];
      await repo.insertBatch(batchOf(repo, events));
      const stored = await repo.list({ clientId }, { order: 'asc', limit: 10 });
      assert.equal(stored.length, 2);
      assert.deepEqual(
        {
          subject: stored[0]!.subject,
          ua: stored[0]!.user_agent,
          rid: stored[0]!.request_id,
          ip: stored[0]!.ip,
          at: stored[0]!.occurred_at,
          data: stored[0]!.data,
        },
        { subject: '\\N', ua: awkward, rid: 'r\t1', ip: '::1', at: '2026-01-02T03:04:05.678Z', data: events[0]!.data },
      );
      assert.deepEqual(
        {
          subject: stored[1]!.subject,
          ua: stored[1]!.user_agent,
          rid: stored[1]!.request_id,
          ip: stored[1]!.ip,
          data: stored[1]!.data,
        },
        { subject: null, ua: null, rid: null, ip: null, data: {} },
        'absent values are stored as null, not as text',
      );
    });

    it('stores a batch that outgrew its first buffer, multi-byte text included, row for row', async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `big-${randomUUID()}`;
      // ~600 KiB of UTF-8: the batch's buffer grows several times, some rows across each boundary.
      const userAgent = `ünï 🔑 ${'ä'.repeat(400)}`;
      const events = Array.from(
        { length: 600 },
        (_, n): AuditEvent => ({
          type: 'token.issued',
          actor: `client:${clientId}`,
          clientId,
          userAgent,
          occurredAt: new Date(),
          data: { n, note: '€'.repeat(n % 50) },
        }),
      );
      await repo.insertBatch(batchOf(repo, events));
      const stored = await repo.list({ clientId }, { order: 'asc', limit: 1000 });
      assert.equal(stored.length, 600);
      assert.ok(
        stored.every((r, n) => r.user_agent === userAgent && r.data.n === n && r.data.note === '€'.repeat(n % 50)),
      );
    });

    it("stores each event's time to the millisecond, within a second and across seconds", async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `time-${randomUUID()}`;
      // Same second with 1-, 2- and 3-digit milliseconds; the next second; an earlier one again; before 1970.
      const times = [
        '2026-01-02T03:04:05.000Z',
        '2026-01-02T03:04:05.007Z',
        '2026-01-02T03:04:05.042Z',
        '2026-01-02T03:04:05.999Z',
        '2026-01-02T03:04:06.001Z',
        '2026-01-02T03:04:05.500Z',
        '1969-12-31T23:59:59.999Z',
        '2030-06-30T23:59:59.100Z',
      ];
      const events = times.map(
        (t, n): AuditEvent => ({ type: 'logout', actor: 'system', clientId, occurredAt: new Date(t), data: { n } }),
      );
      await repo.insertBatch(batchOf(repo, events));
      const stored = await repo.list({ clientId }, { order: 'asc', limit: 20 });
      assert.deepEqual(
        stored.map((r) => r.occurred_at),
        times,
      );
    });

    it('refuses a batch it did not open, with a clear error', async () => {
      const repo = new SqlAuditEventRepository(database);
      const foreign = { key: randomUUID(), count: 1, append() {} };
      await assert.rejects(repo.insertBatch(foreign), { name: 'TypeError', message: /not opened by this repository/ });
    });

    it('stores a one-event batch once too, and nothing for an empty batch', async () => {
      const repo = new SqlAuditEventRepository(database);
      const clientId = `idem-${randomUUID()}`;
      const batch = batchOf(repo, [
        { type: 'logout' as const, actor: 'system' as const, clientId, occurredAt: new Date(), data: {} },
      ]);
      await repo.insertBatch(batch);
      await repo.insertBatch(batch);
      await repo.insertBatch(batchOf(repo, []));
      const rows = await database
        .db()('audit_events')
        .where({ client_id: clientId })
        .count<{ count: string }[]>({ count: '*' });
      assert.equal(Number(rows[0]!.count), 1);
    });
  });
}

/** What the audit writer does after a failed write: the same batch again on its next tick. */
async function writeWithRetries(repo: SqlAuditEventRepository, batch: AuditBatch): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await repo.insertBatch(batch);
    } catch (err) {
      if (attempt === 10) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('audit COPY through a black-holed connection (postgres)', { skip: !backends().includes('postgres') }, () => {
  let storage: TestStorage;
  let proxy: FaultProxy;
  let database: Database;
  before(async () => {
    storage = await createTestStorage('postgres');
    const direct = await Database.open({ databaseUrl: storage.env.DATABASE_URL, dataDir: '', poolMax: 1 });
    await direct.migrate();
    await direct.close();
    const url = new URL(storage.env.DATABASE_URL!);
    proxy = new FaultProxy({ host: url.hostname, port: Number(url.port || 5432) }, 'postgres');
    url.port = String(await proxy.start());
    database = await Database.open({ databaseUrl: url.toString(), dataDir: '', poolMax: 2, queryTimeoutMs: 500 });
  });
  after(async () => {
    await database?.close();
    await proxy?.stop();
    await storage?.drop();
  });

  /** An outage, classified by storage, whose driver error is a timeout. */
  const timedOut = (err: unknown) => err instanceof StorageUnavailable && /timeout/i.test(err.driverMessage ?? '');

  it('fails the write within the query timeout, then stores the retried batch once', async () => {
    const repo = new SqlAuditEventRepository(database);
    const clientId = `hole-${randomUUID()}`;
    const event = (n: number): AuditEvent => ({
      type: 'token.issued',
      actor: `client:${clientId}`,
      clientId,
      occurredAt: new Date(),
      data: { n },
    });
    const batch = batchOf(repo, [1, 2, 3].map(event));
    await repo.insertBatch(batchOf(repo, [event(0)])); // a pooled connection exists
    proxy.blackhole();
    await assert.rejects(repo.insertBatch(batch), timedOut);
    proxy.pass(); // cuts the connections held meanwhile; the writer retries on its next tick, as here
    await writeWithRetries(repo, batch);
    await repo.insertBatch(batch);
    const rows = await repo.list({ clientId }, { order: 'asc', limit: 10 });
    assert.deepEqual(
      rows.map((r) => r.data.n),
      [0, 1, 2, 3],
    );
  });

  it('survives answers that arrive after the timeout (a slow server, not a dead one)', async () => {
    const repo = new SqlAuditEventRepository(database);
    const clientId = `slow-${randomUUID()}`;
    const batch = batchOf(
      repo,
      [1, 2].map(
        (n): AuditEvent => ({
          type: 'token.issued',
          actor: `client:${clientId}`,
          clientId,
          occurredAt: new Date(),
          data: { n },
        }),
      ),
    );
    proxy.latencyMs = 800;
    try {
      await assert.rejects(repo.insertBatch(batch), timedOut);
      await new Promise((resolve) => setTimeout(resolve, 2500)); // the late answers would have arrived by now
    } finally {
      proxy.latencyMs = 0;
    }
    await writeWithRetries(repo, batch);
    const rows = await repo.list({ clientId }, { order: 'asc', limit: 10 });
    assert.deepEqual(
      rows.map((r) => r.data.n),
      [1, 2],
    );
  });
});
