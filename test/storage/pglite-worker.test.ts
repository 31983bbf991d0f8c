import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/domain/audit/audit-event.js';
import { Conflict, StorageUnavailable } from '../../src/domain/errors.js';
import { Database } from '../../src/storage/database.js';
import type { Worker } from 'node:worker_threads';
import {
  PGliteWorkerConnection,
  type PGliteWorkerData,
  startPGliteWorker,
} from '../../src/storage/pglite/pglite-worker-connection.js';
import { SqlAuditEventRepository } from '../../src/storage/repositories/audit-events-repository.js';
import { classifyStorageError } from '../../src/storage/storage-errors.js';
import { backends, createTestStorage, openTestDatabase, type TestStorage, tmpRoot } from '../support/backends.js';

/**
 * Embedded PostgreSQL runs on a worker thread (src/storage/pglite/): what crosses the thread
 * boundary must arrive as it would from PGlite on this thread — values of every type, errors with
 * their SQLSTATE (so storage still classifies them), COPY's blob — and a closed database must
 * answer "unavailable", not hang.
 */
describe('embedded PostgreSQL on a worker thread (pglite)', { skip: !backends().includes('pglite') }, () => {
  let storage: TestStorage;
  let database: Database;

  before(async () => {
    storage = await createTestStorage('pglite');
    database = await openTestDatabase(storage);
    await database.db().schema.createTable('worker_round_trip', (t) => {
      t.increments('id');
      t.string('slug').unique();
      t.timestamp('at', { useTz: true });
      t.jsonb('doc');
      t.binary('bytes');
      t.text('note');
    });
  });
  after(async () => {
    await database?.close();
    await storage?.drop();
  });

  it('runs statements off this thread: its event loop turns while a long statement runs', async () => {
    assert.ok((database.db().client as { pglite?: unknown }).pglite instanceof PGliteWorkerConnection);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    try {
      await database.db().raw('select count(*) from generate_series(1, 3000000)');
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - started;
    // PGlite on this thread runs a statement synchronously in WASM: no timer fires until it ends.
    assert.ok(ticks >= Math.min(5, ms / 50), `${ticks} timer ticks during a ${Math.round(ms)} ms statement`);
  });

  it('round-trips a Date, jsonb, bytea and null through knex', async () => {
    const at = new Date('2026-03-04T05:06:07.089Z');
    const doc = { a: 1, nested: { list: ['x', null, true, 2.5] }, text: 'ünï 🔑' };
    const bytes = Buffer.from([0, 1, 2, 254, 255, 0x5c, 0x27]);
    const [inserted] = await database
      .db()('worker_round_trip')
      .insert({ slug: 'round', at, doc: JSON.stringify(doc), bytes, note: null })
      .returning(['id', 'at']);
    assert.ok(inserted.at instanceof Date, 'a timestamptz comes back as a Date');
    const row = await database.db()('worker_round_trip').where({ id: inserted.id }).first();
    assert.ok(row.at instanceof Date);
    assert.equal(row.at.toISOString(), at.toISOString());
    assert.deepEqual(row.doc, doc);
    assert.ok(row.bytes instanceof Uint8Array, 'bytea comes back as bytes');
    assert.deepEqual([...row.bytes], [...bytes]);
    assert.equal(row.note, null);
    const count = await database.db()('worker_round_trip').where({ slug: 'round' }).update({ note: 'n' });
    assert.equal(count, 1, 'the count of rows updated');
  });

  it('classifies a unique violation from the worker as Conflict, with its constraint', async () => {
    await database.db()('worker_round_trip').insert({ slug: 'taken' });
    const err = await database
      .db()('worker_round_trip')
      .insert({ slug: 'taken' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof Conflict, `a Conflict, not ${String(err)}`);
    assert.equal(err.constraint, 'worker_round_trip_slug_unique');
    const cause = err.cause as { code?: string; detail?: string; table?: string; severity?: string };
    assert.equal(cause.code, '23505');
    assert.equal(cause.table, 'worker_round_trip');
    assert.equal(cause.severity, 'ERROR');
    assert.match(cause.detail ?? '', /\(slug\)=\(taken\) already exists/);
  });

  it('keeps a failing statement an ordinary error (not unavailable), with its SQLSTATE', async () => {
    const err = await database
      .db()
      .raw('select * from no_such_table')
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      );
    assert.ok(err && !(err instanceof StorageUnavailable) && !(err instanceof Conflict));
    assert.equal(err.code, '42P01');
    assert.match(err.message ?? '', /relation "no_such_table" does not exist/);
  });

  it('rolls back a knex transaction whose statement failed, and the connection carries on', async () => {
    const slug = `trx-${randomUUID()}`;
    await assert.rejects(
      database.db().transaction(async (trx) => {
        await trx('worker_round_trip').insert({ slug });
        await trx('worker_round_trip').insert({ slug: 'taken' });
      }),
      Conflict,
    );
    assert.equal(await database.db()('worker_round_trip').where({ slug }).first(), undefined);
    // No aborted transaction left on the one connection: the next write commits (else 25P02).
    await database.db()('worker_round_trip').insert({ slug });
    assert.equal((await database.db()('worker_round_trip').where({ slug }).select('slug')).length, 1);
  });

  it("holds other connections' statements while a transaction is open, so they are not part of it", async () => {
    const inside = `inside-${randomUUID()}`;
    const outside = `outside-${randomUUID()}`;
    let outsideWrite: Promise<unknown> | undefined;
    let settled = false;
    await assert.rejects(
      database.db().transaction(async (trx) => {
        await trx('worker_round_trip').insert({ slug: inside });
        // Another pooled connection (a session of the same worker) writes meanwhile.
        outsideWrite = database
          .db()('worker_round_trip')
          .insert({ slug: outside })
          .finally(() => {
            settled = true;
          });
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(settled, false, 'the other connection waits for the transaction');
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await outsideWrite;
    assert.equal(await database.db()('worker_round_trip').where({ slug: inside }).first(), undefined);
    assert.ok(
      await database.db()('worker_round_trip').where({ slug: outside }).first(),
      "the other connection's write is its own, not undone with the transaction",
    );
  });

  it("fails a statement that waited 5 s for another connection's transaction as unavailable", async () => {
    const started = Date.now();
    const err = await database
      .db()
      .transaction(async (trx) => {
        await trx.raw('select 1');
        // A query outside the transaction while it is open: waits for it, which waits for this.
        await database.db().raw('select 2');
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof StorageUnavailable, String(err));
    assert.ok(Date.now() - started >= 4900);
    assert.equal((await database.db().raw('select 3 as n')).rows[0].n, 3, 'the transaction ended; all carry on');
  });

  it('answers statements sent together, each with its own result', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, n) => database.db().raw('select ?::int * 2 as doubled', [n])),
    );
    assert.deepEqual(
      answers.map((a) => a.rows[0].doubled),
      Array.from({ length: 50 }, (_, n) => n * 2),
    );
  });

  it('writes an audit batch with COPY (the blob crosses to the worker), once when written twice', async () => {
    const repo = new SqlAuditEventRepository(database);
    const clientId = `copy-${randomUUID()}`;
    const batch = repo.openBatch(randomUUID());
    for (const n of [1, 2, 3])
      batch.append({
        type: 'token.issued',
        actor: `client:${clientId}`,
        clientId,
        userAgent: 'tab\there ünï',
        occurredAt: new Date(`2026-01-02T03:04:0${n}.00${n}Z`),
        data: { n },
      } satisfies AuditEvent);
    await repo.insertBatch(batch);
    await repo.insertBatch(batch); // the batch key's unique violation, classified across the boundary
    const stored = await repo.list({ clientId }, { order: 'asc', limit: 10 });
    assert.deepEqual(
      stored.map((e) => [e.data.n, e.occurred_at, e.user_agent]),
      [1, 2, 3].map((n) => [n, `2026-01-02T03:04:0${n}.00${n}Z`, 'tab\there ünï']),
    );
  });
});

describe('the PGlite worker connection opened and closed (pglite)', { skip: !backends().includes('pglite') }, () => {
  let storage: TestStorage;
  before(async () => {
    storage = await createTestStorage('pglite');
  });
  after(async () => {
    await storage?.drop();
  });
  const dataDir = () => storage.env.GATEHOUSE_DATA_DIR!;

  it('keeps what was written across close and a new start on the same directory', async () => {
    const first = await Database.open({ dataDir: dataDir(), poolMax: 1 });
    const slug = `kept-${randomUUID()}`;
    await first.db().raw('create table if not exists kept (slug text primary key)');
    await first.db()('kept').insert({ slug });
    await first.close();
    const second = await Database.open({ dataDir: dataDir(), poolMax: 1 });
    try {
      assert.deepEqual(await second.db()('kept').where({ slug }).select('slug'), [{ slug }]);
    } finally {
      await second.close();
    }
  });

  it('answers a statement after close as unavailable, at once', async () => {
    const database = await Database.open({ dataDir: dataDir(), poolMax: 1 });
    const pglite = (database.db().client as { pglite: PGliteWorkerConnection }).pglite;
    await database.close();
    const err = await pglite.query('select 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error && err.message === 'PGlite is closed', String(err));
    assert.ok(classifyStorageError(err) instanceof StorageUnavailable);
    await assert.rejects(database.db().raw('select 1'), StorageUnavailable);
    await pglite.close(); // closing again is harmless
  });

  it('fails statements still queued when the database closes as unavailable, or runs them first', async () => {
    const database = await Database.open({ dataDir: dataDir(), poolMax: 1 });
    const pglite = (database.db().client as { pglite: PGliteWorkerConnection }).pglite;
    const queued = Array.from({ length: 20 }, (_, n) => pglite.query('select $1::int as n', [n]));
    const closing = database.close();
    const settled = await Promise.allSettled(queued);
    await closing;
    // Sent before the close, they run before it (the worker answers in order).
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? (s.value.rows[0] as { n: number }).n : 'rejected')),
      Array.from({ length: 20 }, (_, n) => n),
    );
  });

  it('refuses options that cannot cross to the worker, without sending the statement', async () => {
    const database = await Database.open({ dataDir: dataDir(), poolMax: 1 });
    try {
      const pglite = (database.db().client as { pglite: PGliteWorkerConnection }).pglite;
      await assert.rejects(pglite.query('select 1', [], { parsers: { 23: (v: string) => v } }), {
        name: 'TypeError',
        message: /parsers cannot cross/,
      });
      assert.deepEqual((await pglite.query('select 1 as one')).rows, [{ one: 1 }]);
    } finally {
      await database.close();
    }
  });

  it("fails start-up with PGlite's own error on a data directory it cannot open, and lets go of the lock", async () => {
    const dir = path.join(tmpRoot(), `bad_${randomUUID()}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'pg'), 'not a directory');
    try {
      const first = await Database.open({ dataDir: dir, poolMax: 1 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      assert.ok(first instanceof Error, 'start-up fails');
      assert.match(first.message, /^PGlite could not open .*bad_.*\/pg: ErrnoError \(errno 54\)$/, 'the cause itself');
      // The same error again, not "locked": the failed start released the directory lock.
      const second = await Database.open({ dataDir: dir, poolMax: 1 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      assert.equal(second?.message, first.message);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a PGlite worker thread that ends unasked (pglite)', { skip: !backends().includes('pglite') }, () => {
  let storage: TestStorage;
  before(async () => {
    storage = await createTestStorage('pglite');
  });
  after(async () => {
    await storage?.drop();
  });

  /** A connection whose threads the test can end (Worker.terminate: the thread stops at once, as in a crash). */
  function connection() {
    const threads: Worker[] = [];
    const failures: { message: string; restarting: boolean }[] = [];
    let restarted = 0;
    const pglite = new PGliteWorkerConnection(
      { dataDir: path.join(storage.env.GATEHOUSE_DATA_DIR!, 'pg'), extraStartParams: [] },
      {
        start: (data: PGliteWorkerData) => {
          const thread = startPGliteWorker(data);
          threads.push(thread);
          return thread;
        },
        onFailure: (err, restarting) => failures.push({ message: err.message, restarting }),
        onRestarted: () => restarted++,
      },
    );
    return { pglite, threads, failures, restarted: () => restarted };
  }

  it('opens PGlite again on a new thread: what was committed is there, the statement in flight failed as unavailable', async () => {
    const { pglite, threads, failures, restarted } = connection();
    try {
      await pglite.waitReady;
      await pglite.query('create table if not exists survived (n int primary key)');
      await pglite.query('insert into survived values (1) on conflict do nothing');
      const inFlight = pglite.query('select pg_sleep(2)').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      await new Promise((r) => setTimeout(r, 100));
      await threads[0]!.terminate();
      const err = await inFlight;
      assert.ok(err instanceof Error && err.message === 'PGlite is closed', String(err));
      assert.ok(classifyStorageError(err) instanceof StorageUnavailable, 'answered 503, not 500');
      // Sent while the new thread opens: it waits, then runs there.
      assert.deepEqual((await pglite.query('select n from survived')).rows, [{ n: 1 }]);
      assert.equal(threads.length, 2, 'a second thread');
      assert.deepEqual(failures, [{ message: 'PGlite is closed', restarting: true }]);
      assert.equal(restarted(), 1);
      await pglite.query('insert into survived values (2)');
    } finally {
      await pglite.close();
    }
    // The second thread's write is on disk too: a fresh start on the directory reads both rows.
    const again = connection();
    try {
      await again.pglite.waitReady;
      assert.deepEqual((await again.pglite.query('select n from survived order by n')).rows, [{ n: 1 }, { n: 2 }]);
    } finally {
      await again.pglite.close();
    }
  });

  it('stops opening it again when the thread keeps ending: statements then fail as unavailable, at once', async () => {
    const { pglite, threads, failures } = connection();
    try {
      await pglite.waitReady;
      for (let ended = 0; ended < 4; ended++) {
        await pglite.query('select 1'); // waits for the thread started after the last end
        await threads.at(-1)!.terminate();
      }
      const err = await pglite.query('select 1').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      assert.ok(err instanceof Error && classifyStorageError(err) instanceof StorageUnavailable, String(err));
      assert.equal(threads.length, 4, 'started again three times, then not');
      assert.deepEqual(
        failures.map((f) => f.restarting),
        [true, true, true, false],
      );
    } finally {
      await pglite.close();
    }
  });
});
