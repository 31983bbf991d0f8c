import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { mailTo } from '../support/mailbox.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { FAST_WORKER } from './outbox-helpers.js';

/** A real outage: the SMTP server is gone (connections refused) this long. OUTBOX_OUTAGE_MS shortens it locally. */
const OUTAGE_MS = Number(process.env.OUTBOX_OUTAGE_MS ?? 30_000);
const PER_BACKEND = 5;

// One outage for every backend at once (one SMTP server, both instances sending to it), so the
// file takes the outage's time once.
describe(`SMTP down for ${OUTAGE_MS / 1000} s: mail waits and nothing is lost (${backends().join(', ')})`, () => {
  let sink: SmtpSink;
  const instances: RunningGatehouse[] = [];
  before(async () => {
    sink = await SmtpSink.start();
    for (const backend of backends())
      instances.push(
        await startGatehouse(backend, {
          env: { SMTP_URL: sink.url, MAIL_FROM: 'no-reply@gatehouse.test' },
          parts: { outboxWorker: FAST_WORKER },
        }),
      );
  });
  after(async () => {
    for (const gh of instances) await gh.destroy();
    await sink?.stop();
  });

  it('retries with backoff while the server is down and delivers each message once when it is back', async () => {
    const stamp = Date.now().toString(36);
    // Delivered before the outage: the pooled connection is open when the server goes away.
    for (const gh of instances)
      await gh.instance.mailer.send(`warm.${gh.backend}.${stamp}@example.test`, 'password-changed', { when: 'now' });
    await sink.waitFor(instances.length);

    await sink.stop();
    const queued = new Map<string, string>();
    for (const gh of instances)
      for (let i = 0; i < PER_BACKEND; i++) {
        const to = `outage${i}.${gh.backend}.${stamp}@example.test`;
        queued.set(await gh.instance.mailer.send(to, 'sign-in-code', { code: `${200000 + i}`, minutes: 10 }), to);
      }

    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    // Still there, waiting, with the reason of the last failure; tried more than once.
    for (const gh of instances) {
      const waiting = (await gh.admin('GET', '/admin/outbox?limit=200')).body.filter((m: { id: string }) =>
        queued.has(m.id),
      );
      assert.equal(waiting.length, PER_BACKEND);
      for (const m of waiting) {
        assert.ok(m.status === 'queued' || m.status === 'sending', m.status);
        assert.equal(m.sent_at, undefined);
        if (OUTAGE_MS >= 10_000) assert.ok(m.attempts >= 3, `attempts ${m.attempts}`);
        if (m.status === 'queued') assert.match(m.last_error, /ECONNREFUSED|ESOCKET|ECONNECTION|connect/i);
      }
    }
    assert.equal(sink.messages.length, instances.length, 'nothing reached SMTP during the outage');

    await sink.start();
    const delivered = await sink.waitFor(instances.length + queued.size, () => true, 15_000);
    // Settle: a duplicate would show up within a few more rounds.
    await new Promise((r) => setTimeout(r, 1_500));
    const ids = sink.messages.map((m) => /^<([^@]+)@/.exec(m.messageId)?.[1]);
    for (const id of queued.keys()) assert.equal(ids.filter((x) => x === id).length, 1, `message ${id} once`);
    assert.equal(sink.messages.length, delivered.length);
    for (const gh of instances)
      for (const [id, to] of queued) {
        const [m] = (await mailTo(gh, to)).filter((x) => x.id === id);
        if (!m) continue; // queued on the other backend
        assert.equal(m.status, 'sent');
        assert.ok(m.sent_at);
        assert.equal(m.last_error, null);
      }
  });
});
