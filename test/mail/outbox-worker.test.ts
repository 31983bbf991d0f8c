import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainEvents, type DomainEvent } from '../../src/domain/events/domain-events.js';
import type { OutboxMessage, OutboxRepository } from '../../src/domain/mail/mail.js';
import { OutboxWorker } from '../../src/mail/outbox-worker.js';
import type { MailTransport, OutgoingMail } from '../../src/mail/smtp-transport.js';

const T0 = Date.UTC(2026, 5, 1, 12);
const HOUR = 3600_000;

/** The outbox in memory, with the repository's contract (claims set `sending` and count the attempt). */
class MemoryOutbox implements OutboxRepository {
  readonly rows = new Map<string, OutboxMessage>();
  readonly failures: { id: string; error: string; retryAt?: Date }[] = [];
  constructor(private readonly now: () => number) {}
  add(id: string, createdAt = this.now()): void {
    this.rows.set(id, {
      id,
      to: `${id}@example.test`,
      template: 'sign-in-code',
      subject: `s ${id}`,
      text: 't',
      html: 'h',
      status: 'queued',
      attempts: 0,
      nextAttemptAt: new Date(createdAt),
      lastError: null,
      createdAt: new Date(createdAt),
      sentAt: null,
    });
  }
  async enqueue(): Promise<void> {}
  async list(): Promise<OutboxMessage[]> {
    return [...this.rows.values()];
  }
  async claimDue(limit: number): Promise<OutboxMessage[]> {
    const due = [...this.rows.values()]
      .filter((m) => m.status === 'queued' && m.nextAttemptAt.getTime() <= this.now())
      .slice(0, limit);
    for (const m of due) Object.assign(m, { status: 'sending', attempts: m.attempts + 1 });
    return due.map((m) => ({ ...m }));
  }
  async markSent(id: string): Promise<void> {
    Object.assign(this.rows.get(id)!, { status: 'sent', sentAt: new Date(this.now()) });
  }
  async markFailed(id: string, error: string, retryAt: Date | undefined): Promise<void> {
    this.failures.push({ id, error, retryAt });
    Object.assign(this.rows.get(id)!, {
      status: retryAt ? 'queued' : 'failed',
      nextAttemptAt: retryAt ?? new Date(this.now()),
      lastError: error,
    });
  }
}

function setup(
  send: (m: OutgoingMail) => Promise<void>,
  options: { stopGraceMs?: number; pollIntervalMs?: number } = {},
) {
  let now = T0;
  const clock = {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
  const outbox = new MemoryOutbox(clock.now);
  const events: DomainEvent[] = [];
  const bus = new DomainEvents().subscribe((e) => void events.push(e));
  let closed = 0;
  const transport: MailTransport = {
    send,
    close: () => void closed++,
  };
  const warnings: string[] = [];
  const worker = new OutboxWorker(
    outbox,
    transport,
    bus,
    { warn: (_f, m) => void warnings.push(m) },
    {
      now: clock.now,
      random: () => 0,
      pollIntervalMs: options.pollIntervalMs ?? 10,
      stopGraceMs: options.stopGraceMs ?? 200,
    },
  );
  return { clock, outbox, events, worker, warnings, closed: () => closed };
}

describe('outbox worker', () => {
  it('sends, marks sent and emits mail.sent', async () => {
    const sent: OutgoingMail[] = [];
    const { outbox, events, worker } = setup(async (m) => void sent.push(m));
    outbox.add('m1');
    assert.equal(await worker.runOnce(), 1);
    assert.deepEqual(
      sent.map((m) => [m.id, m.to, m.subject]),
      [['m1', 'm1@example.test', 's m1']],
    );
    assert.equal(outbox.rows.get('m1')!.status, 'sent');
    assert.deepEqual(events, [{ type: 'mail.sent', messageId: 'm1', attempts: 1 }]);
  });

  it('on failure schedules a retry with backoff from its clock and emits mail.failed', async () => {
    const { clock, outbox, events, worker } = setup(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET' });
    });
    outbox.add('m1');
    await worker.runOnce();
    assert.equal(outbox.rows.get('m1')!.status, 'queued');
    assert.deepEqual(outbox.failures[0]!.retryAt, new Date(T0 + 2_500));
    assert.match(outbox.failures[0]!.error, /^ESOCKET connect ECONNREFUSED/);
    assert.deepEqual(events[0], {
      type: 'mail.failed',
      messageId: 'm1',
      attempts: 1,
      error: outbox.failures[0]!.error,
      retryAt: new Date(T0 + 2_500).toISOString(),
    });
    // Not due yet; then due, and the second delay is twice the first.
    assert.equal(await worker.runOnce(), 0);
    clock.advance(2_500);
    assert.equal(await worker.runOnce(), 1);
    assert.deepEqual(outbox.failures[1]!.retryAt, new Date(T0 + 2_500 + 5_000));
  });

  it('gives up (failed) once the next try would be past 48 h, and never sends mail older than that', async () => {
    const sent: string[] = [];
    let fail = true;
    const { clock, outbox, events, worker } = setup(async (m) => {
      if (fail) throw new Error('451 try later');
      sent.push(m.id);
    });
    outbox.add('m1');
    clock.advance(48 * HOUR - 1_000);
    await worker.runOnce();
    assert.equal(outbox.rows.get('m1')!.status, 'failed');
    assert.equal(outbox.failures[0]!.retryAt, undefined);
    assert.equal((events[0] as { retryAt?: string }).retryAt, undefined);

    // Queued long ago (e.g. while SMTP_URL was unset): given up without sending.
    fail = false;
    outbox.add('old', clock.now() - 49 * HOUR);
    await worker.runOnce();
    assert.deepEqual(sent, []);
    assert.equal(outbox.rows.get('old')!.status, 'failed');
    assert.match(outbox.rows.get('old')!.lastError!, /given up without sending/);
  });

  it('never sends a message whose bodies were emptied (queued again by hand after sending)', async () => {
    const sent: string[] = [];
    const { outbox, worker } = setup(async (m) => void sent.push(m.id));
    outbox.add('m1');
    Object.assign(outbox.rows.get('m1')!, { text: '', html: '' });
    await worker.runOnce();
    assert.deepEqual(sent, []);
    assert.equal(outbox.rows.get('m1')!.status, 'failed');
  });

  it('wakes at once when told, without waiting for the poll', async () => {
    const sent: string[] = [];
    const { outbox, worker } = setup(async (m) => void sent.push(m.id), { pollIntervalMs: 60_000 });
    worker.start();
    await new Promise((r) => setTimeout(r, 50));
    outbox.add('m1');
    worker.wake();
    const t = Date.now();
    while (!sent.length && Date.now() - t < 2_000) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(sent, ['m1']);
    assert.ok(Date.now() - t < 1_000);
    await worker.stop();
  });

  it('stop() lets a send in flight finish within the grace time and records it', async () => {
    const { outbox, worker } = setup(() => new Promise((r) => setTimeout(r, 100)), { stopGraceMs: 2_000 });
    outbox.add('m1');
    worker.start();
    await new Promise((r) => setTimeout(r, 20));
    await worker.stop();
    assert.equal(outbox.rows.get('m1')!.status, 'sent');
  });

  it('stop() abandons a hung send after the grace time, closing the transport; the lease brings it back', async () => {
    const { outbox, worker, closed } = setup(() => new Promise(() => undefined), { stopGraceMs: 100 });
    outbox.add('m1');
    worker.start();
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    await worker.stop();
    assert.ok(Date.now() - t < 2_000, 'stop is bounded');
    assert.ok(closed() >= 1);
    // Neither sent nor failed: still `sending` under its lease, which runs out for the next worker.
    assert.equal(outbox.rows.get('m1')!.status, 'sending');
  });
});
