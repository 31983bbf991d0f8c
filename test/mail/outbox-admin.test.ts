import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { outboxMessageResponse } from '../../src/http/admin/admin-schemas.js';
import { backends } from '../support/backends.js';
import { startGatehouse, type RunningGatehouse } from '../support/gatehouse.js';
import { mailTo, waitForMail, linkIn } from '../support/mailbox.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/gatehouse.mjs');

for (const backend of backends()) {
  describe(`GET /admin/outbox without SMTP_URL (${backend})`, () => {
    let gh: RunningGatehouse;
    const lines: string[] = [];
    const ids: string[] = [];
    const stamp = Date.now().toString(36);
    const alice = `alice.${stamp}@example.test`;
    const bob = `bob.${stamp}@example.test`;
    before(async () => {
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      gh = await startGatehouse(backend, { logger });
      const mailer = gh.instance.mailer;
      // Alternating recipients, one at a time: created_at orders them.
      for (let i = 0; i < 7; i++) {
        const to = i % 2 ? bob : alice;
        ids.push(
          await mailer.send(to, 'password-reset', { link: mailer.link(`/reset-password?token=t${i}`), minutes: 30 }),
        );
      }
    });
    after(async () => {
      await gh?.destroy();
    });

    it('says at start-up that mail stays in the outbox and where to read it', () => {
      const started = lines.map((l) => JSON.parse(l)).find((l) => /SMTP_URL is not set/.test(l.msg));
      assert.ok(started, 'a start-up line about SMTP_URL');
      assert.match(started.msg, /GET \/admin\/outbox/);
    });

    it('keeps mail queued and answers a bare array, newest first, with the documented fields', async () => {
      const res = await gh.admin('GET', '/admin/outbox');
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.body));
      z.array(outboxMessageResponse).parse(res.body);
      const mine = (res.body as { id: string }[]).filter((m) => ids.includes(m.id)).map((m) => m.id);
      assert.deepEqual(mine, [...ids].reverse());
      const newest = res.body[0];
      assert.equal(newest.id, ids.at(-1));
      assert.equal(newest.to, alice);
      assert.equal(newest.status, 'queued');
      assert.equal(newest.sent_at, undefined);
      assert.equal(newest.template, 'password-reset');
      assert.ok(newest.subject && newest.text && newest.html);
      assert.equal(linkIn(newest, '/reset-password').searchParams.get('token'), 't6');
      // Still queued a moment later: nothing sends without SMTP_URL.
      await new Promise((r) => setTimeout(r, 300));
      assert.ok((await mailTo(gh, alice)).every((m) => m.status === 'queued' && m.attempts === 0));
    });

    it('logs each queued email as kept in the outbox, naming the admin route, without its content', () => {
      const queued = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'mail.queued');
      assert.equal(queued.length, ids.length);
      for (const l of queued) {
        assert.match(l.msg, /queued/);
        assert.match(l.msg, /GET \/admin\/outbox/);
        assert.ok(ids.includes(l.messageId));
      }
      assert.ok(!lines.some((l) => /token=t\d/.test(l)), 'no link (token) in the logs');
    });

    it('pages with limit and after', async () => {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const res = await gh.admin('GET', `/admin/outbox?limit=3${after ? `&after=${after}` : ''}`);
        assert.equal(res.status, 200);
        assert.ok(res.body.length <= 3);
        seen.push(...res.body.map((m: { id: string }) => m.id));
        if (res.body.length < 3) break;
        after = res.body.at(-1).id;
      }
      assert.deepEqual(
        seen.filter((id) => ids.includes(id)),
        [...ids].reverse(),
      );
      assert.equal(new Set(seen).size, seen.length, 'no message on two pages');
    });

    it('filters by recipient, exactly and case-insensitively', async () => {
      const forBob = await mailTo(gh, bob.toUpperCase());
      assert.deepEqual(
        forBob.map((m) => m.id),
        [ids[5], ids[3], ids[1]],
      );
      assert.ok(forBob.every((m) => m.to === bob));
      assert.deepEqual(await mailTo(gh, `x${bob}`), [], 'no substring match');
      assert.deepEqual(await mailTo(gh, bob.slice(0, -1)), [], 'no prefix match');
      const newest = await waitForMail(gh, alice, { template: 'password-reset' });
      assert.equal(newest.id, ids[6]);
    });

    it('is listed by the CLI: gatehouse outbox list --to', {
      skip: backend !== 'pglite' && 'CLI: one backend',
    }, async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [BIN, 'outbox', 'list', '--to', bob, '--limit', '2'],
        {
          cwd: os.tmpdir(),
          env: { ...process.env, GATEHOUSE_ADMIN_URL: gh.adminUrl, GATEHOUSE_ADMIN_KEY: gh.adminKey },
        },
      );
      assert.deepEqual(
        JSON.parse(stdout).map((m: { id: string }) => m.id),
        [ids[5], ids[3]],
      );
    });

    it('validates limit and needs the admin key', async () => {
      for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=1&limit=2']) {
        const res = await gh.admin('GET', `/admin/outbox?${q}`);
        assert.equal(res.status, 400, q);
        assert.equal(res.body.error, 'invalid_request');
      }
      assert.equal((await gh.admin('GET', '/admin/outbox?limit=200')).status, 200);
      const anonymous = await fetch(`${gh.adminUrl}/admin/outbox`);
      assert.equal(anonymous.status, 401);
      const body = (await anonymous.json()) as unknown;
      assert.ok(!Array.isArray(body), 'no mail without the key');
      const wrongKey = await fetch(`${gh.adminUrl}/admin/outbox`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrongKey.status, 401);
    });
  });
}
