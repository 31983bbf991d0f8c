import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../src/domain/audit/audit-event.js';
import { BufferedAuditLog, type AuditBatch, type AuditEventRepository } from '../../src/domain/audit/audit-log.js';

/** Events held as they were appended. */
class FakeBatch implements AuditBatch {
  readonly events: AuditEvent[] = [];
  constructor(readonly key: string) {}
  get count() {
    return this.events.length;
  }
  append(event: AuditEvent) {
    this.events.push(event);
  }
}

/**
 * An in-memory stand-in for the writer's port (the SQL repository is tested on both backends in
 * idempotent-writes.test.ts): it can be told to fail, or to commit and then lose the answer.
 */
class FakeRepo implements AuditEventRepository {
  rows: AuditEvent[] = [];
  keys = new Set<string>();
  inserts = 0;
  failing = false;
  loseNextAnswer = false;
  opened = 0;
  openBatch(key: string) {
    this.opened++;
    return new FakeBatch(key);
  }
  async insertBatch(batch: FakeBatch) {
    if (this.failing) throw new Error('database unavailable');
    this.inserts++;
    if (!this.keys.has(batch.key)) {
      this.keys.add(batch.key);
      this.rows.push(...batch.events);
    }
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new Error('query timeout (the commit held)');
    }
  }
  async list() {
    return [];
  }
}

const logs: { level: string; msg: string; obj: object }[] = [];
const log = {
  error: (obj: object, msg: string) => {
    logs.push({ level: 'error', msg, obj });
  },
  warn: (obj: object, msg: string) => {
    logs.push({ level: 'warn', msg, obj });
  },
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('audit log writer (no database)', () => {
  it('queues without writing, then writes a batch as one insert on the timer', async () => {
    const repo = new FakeRepo();
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 50 });
    for (let i = 0; i < 10; i++)
      audit.record({ type: 'login.failed', actor: 'anonymous', data: { reason: 'wrong_password' } });
    assert.equal(repo.rows.length, 0, 'record() must not write synchronously');
    await sleep(150);
    assert.equal(repo.rows.length, 10);
    assert.equal(repo.inserts, 1);
    await audit.close();
  });

  it('writes at once when a batch fills, in batches of batchSize', async () => {
    const repo = new FakeRepo();
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 60_000, batchSize: 100 });
    for (let i = 0; i < 250; i++)
      audit.record({ type: 'token.issued', actor: 'client:c1', data: { grant_type: 'client_credentials' } });
    await audit.flush();
    assert.equal(repo.rows.length, 250);
    assert.equal(repo.inserts, 3);
    await audit.close();
  });

  it('keeps events across failed writes and writes them once the database is back', async () => {
    const repo = new FakeRepo();
    repo.failing = true;
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 20 });
    audit.record({ type: 'logout', actor: 'user:u1', subject: 'u1' });
    await sleep(100);
    assert.equal(audit.pending, 1);
    assert.ok(logs.some((l) => l.level === 'error' && /write failed/.test(l.msg)));
    repo.failing = false;
    await sleep(100);
    assert.equal(audit.pending, 0);
    assert.equal(repo.rows[0]!.type, 'logout');
    await audit.close();
  });

  it('writes a batch again as it was (same key, same events) after a commit whose answer was lost', async () => {
    const repo = new FakeRepo();
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) audit.record({ type: 'logout', actor: 'system', data: { n: i } });
    repo.loseNextAnswer = true;
    await audit.flush();
    assert.equal(audit.pending, 3, 'an unacknowledged batch is kept');
    // Events recorded meanwhile must not join the batch being retried: they would be skipped with it.
    for (let i = 3; i < 5; i++) audit.record({ type: 'logout', actor: 'system', data: { n: i } });
    await audit.flush();
    assert.equal(audit.pending, 0);
    assert.deepEqual(
      repo.rows.map((r) => r.data.n),
      [0, 1, 2, 3, 4],
      'each event stored once, in order',
    );
    assert.equal(repo.inserts, 3, 'the first batch twice, then the new events');
    await audit.close();
  });

  it('does not open a new batch on every tick of an outage: the open one fills up instead', async () => {
    const repo = new FakeRepo();
    repo.failing = true;
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 5 });
    for (let i = 0; i < 20; i++) {
      audit.record({ type: 'logout', actor: 'system', data: { n: i } });
      await sleep(12); // at least two ticks between events
    }
    assert.equal(audit.pending, 20);
    // The first event's batch was closed and failed; every later event joined one open batch.
    assert.ok(repo.opened <= 3, `batches opened during the outage: ${repo.opened}`);
    repo.failing = false;
    await audit.close();
    assert.deepEqual(
      repo.rows.map((r) => r.data.n),
      Array.from({ length: 20 }, (_, i) => i),
      'every event stored once, in order',
    );
  });

  it('holds at most maxQueued events while failing and reports how many it dropped', async () => {
    const repo = new FakeRepo();
    repo.failing = true;
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 60_000, maxQueued: 5, closeAttempts: 1 });
    for (let i = 0; i < 8; i++) audit.record({ type: 'logout', actor: 'system' });
    assert.equal(audit.pending, 5);
    await audit.flush();
    assert.ok(logs.some((l) => l.level === 'error' && (l.obj as { dropped?: number }).dropped === 3));
    repo.failing = false;
    await audit.close();
    assert.equal(repo.rows.length, 5);
  });

  it('close() writes everything still queued', async () => {
    const repo = new FakeRepo();
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 7; i++) audit.record({ type: 'user.created', actor: 'admin:key', subject: `u${i}` });
    assert.equal(repo.rows.length, 0);
    await audit.close();
    assert.equal(repo.rows.length, 7);
  });

  it('strips secret-named members, NUL characters and overlong text before queueing', async () => {
    const repo = new FakeRepo();
    const audit = new BufferedAuditLog(repo, log, { flushIntervalMs: 60_000 });
    audit.record({
      type: 'client.updated',
      actor: 'admin:key',
      userAgent: `ua\u0000${'x'.repeat(5000)}`,
      data: {
        before: { client_id: 'c1', client_secret: 'h', jwks: { keys: [{ kty: 'EC', d: 'private', x: 'pub' }] } },
        password: 'p',
        password_hash: 'h',
        access_token: 't',
        refresh_token: 'r',
        code: 'c',
        grant_type: 'refresh_token',
        token_type: 'Bearer',
        note: 'a\u0000b',
      },
    });
    await audit.close();
    const row = repo.rows[0]!;
    assert.ok(!row.userAgent!.includes('\u0000'));
    assert.ok(row.userAgent!.length <= 512);
    assert.deepEqual(row.data, {
      before: { client_id: 'c1', jwks: { keys: [{ kty: 'EC', x: 'pub' }] } },
      grant_type: 'refresh_token',
      token_type: 'Bearer',
      note: 'ab',
    });
  });
});
