import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { mailTo } from '../support/mailbox.js';
import { SmtpSink } from '../support/smtp-sink.js';
import { EMAIL_TEMPLATES, ViewsEmailComposer } from '../../src/mail/email-composer.js';
import { FAST_WORKER, mailerOver } from './outbox-helpers.js';

const FROM = 'Gatehouse Test <no-reply@gatehouse.test>';
// Characters that must be percent-decoded or escaped somewhere between config and SMTP AUTH.
const SMTP_PASS = 'p@ss word:1%';

for (const backend of backends()) {
  describe(`email delivery through the outbox (${backend})`, () => {
    let sink: SmtpSink;
    let gh: RunningGatehouse;
    before(async () => {
      sink = await SmtpSink.start({ auth: { user: 'mailer', pass: SMTP_PASS } });
      gh = await startGatehouse(backend, {
        env: { SMTP_URL: sink.url, SMTP_USER: 'mailer', SMTP_PASSWORD: SMTP_PASS, MAIL_FROM: FROM },
        parts: { outboxWorker: FAST_WORKER },
      });
    });
    after(async () => {
      await gh?.destroy();
      await sink?.stop();
    });

    it('sends a queued email over SMTP as MAIL_FROM and marks it sent', async () => {
      const mailer = gh.instance.mailer;
      const to = `Dana.${backend}@Example.test`;
      const link = mailer.link('/verify-email?token=abc123');
      const id = await mailer.send(to, 'verify-email', { link });

      const [got] = await sink.waitFor(1, (m) => m.envelope.to.some((t) => t.toLowerCase() === to.toLowerCase()));
      const [stored] = await mailTo(gh, to);
      assert.equal(stored!.id, id);
      // What the Mailer wrote (the outbox empties its copy once sent).
      const expected = new ViewsEmailComposer(EMAIL_TEMPLATES).compose('verify-email', {
        productName: 'Gatehouse',
        issuer: gh.issuer,
        issuerHost: new URL(gh.issuer).host,
        email: to,
        link,
      });
      assert.equal(got!.envelope.from, 'no-reply@gatehouse.test');
      assert.equal(got!.from, FROM);
      // nodemailer writes the domain in lower case (IDN normalisation); the local part is kept.
      assert.equal(got!.to, `Dana.${backend}@example.test`);
      assert.equal(got!.subject, expected.subject);
      assert.equal(stored!.subject, expected.subject);
      assert.match(got!.subject, /\S/);
      assert.equal(got!.text.trim(), expected.text.trim());
      assert.ok(got!.text.includes(link), 'the text body carries the link');
      assert.match(got!.html, /href="[^"]*verify-email[^"]*abc123"/, 'the HTML body links to it (escaped)');
      assert.equal(got!.html.trim(), expected.html.trim());
      // The Message-ID is the outbox id: a resend after a crash is recognisable downstream.
      assert.equal(got!.messageId, `<${id}@gatehouse.test>`);

      // Marked sent right after the server's accept.
      let entry = stored!;
      for (let i = 0; i < 50 && entry.status !== 'sent'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        entry = (await mailTo(gh, to))[0]!;
      }
      assert.equal(entry.status, 'sent');
      assert.equal(entry.attempts, 1);
      assert.equal(entry.last_error, null);
      assert.ok(entry.sent_at && Date.parse(entry.sent_at) >= Date.parse(entry.created_at));
      // The link left with the email: the outbox no longer holds it (a database read yields no working link).
      assert.equal(entry.text, '');
      assert.equal(entry.html, '');
      assert.equal(entry.subject, got!.subject);
    });

    it('sends each of several messages once, in a burst (queued elsewhere: found by polling)', async () => {
      const mailer = mailerOver(gh);
      const to = `burst.${backend}@example.test`;
      const ids = await Promise.all(
        Array.from({ length: 12 }, (_, i) => mailer.send(to, 'sign-in-code', { code: `${100000 + i}`, minutes: 10 })),
      );
      await sink.waitFor(12, (m) => m.envelope.to.includes(to));
      await new Promise((r) => setTimeout(r, 500));
      const got = sink.to(to).map((m) => m.messageId);
      assert.deepEqual(got.sort(), ids.map((id) => `<${id}@gatehouse.test>`).sort());
    });
  });
}
