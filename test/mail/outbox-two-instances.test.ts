import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends, createTestStorage, type TestStorage } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { FAST_WORKER } from './outbox-helpers.js';

const MESSAGES = 40;

// Two instances on one PostgreSQL + Redis (PGlite is one process's database by design).
describe('two instances share one outbox: every message is sent exactly once (postgres)', {
  skip: !backends().includes('postgres'),
}, () => {
  let sink: SmtpSink;
  let storage: TestStorage;
  const instances: RunningGatehouse[] = [];
  before(async () => {
    // Each instance logs in as its own SMTP user: the sink tells who sent what.
    sink = await SmtpSink.start({
      auth: [
        { user: 'a', pass: 'pa' },
        { user: 'b', pass: 'pb' },
      ],
    });
    storage = await createTestStorage('postgres');
    for (const user of ['a', 'b'])
      instances.push(
        await startGatehouse('postgres', {
          storage,
          env: { SMTP_URL: `smtp://${user}:p${user}@127.0.0.1:${sink.port}`, MAIL_FROM: 'no-reply@gatehouse.test' },
          // Small batches, frequent polls: the two workers contend for the same rows all the time.
          parts: { outboxWorker: { ...FAST_WORKER, pollIntervalMs: 20, batchSize: 3 } },
        }),
      );
  });
  after(async () => {
    for (const gh of instances) await gh.destroy();
    await storage?.drop();
    await sink?.stop();
  });

  it(`delivers ${MESSAGES} messages queued on both instances once each`, async () => {
    const stamp = Date.now().toString(36);
    const ids = await Promise.all(
      Array.from({ length: MESSAGES }, (_, i) =>
        instances[i % 2]!.instance.mailer.send(`n${i}.${stamp}@example.test`, 'sign-in-code', {
          code: `${300000 + i}`,
          minutes: 10,
        }),
      ),
    );
    await sink.waitFor(MESSAGES, () => true, 20_000);
    // A second send would come within a few polls.
    await new Promise((r) => setTimeout(r, 1_500));
    const sent = sink.messages.map((m) => /^<([^@]+)@/.exec(m.messageId)?.[1]);
    assert.equal(sent.length, MESSAGES, 'no message twice');
    assert.deepEqual([...sent].sort(), [...ids].sort());
    const bySender = new Set(sink.messages.map((m) => m.envelope.user));
    assert.deepEqual([...bySender].sort(), ['a', 'b'], 'both workers sent');
    const outbox = (await instances[1]!.admin('GET', '/admin/outbox?limit=200')).body as {
      id: string;
      status: string;
      attempts: number;
    }[];
    const mine = outbox.filter((m) => ids.includes(m.id));
    assert.equal(mine.length, MESSAGES);
    assert.ok(mine.every((m) => m.status === 'sent' && m.attempts === 1));
  });
});
