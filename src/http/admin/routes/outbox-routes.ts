import type Router from '@koa/router';
import type { z } from 'zod';
import { GatehouseError } from '../../../domain/errors.js';
import type { OutboxMessage, OutboxRepository } from '../../../domain/mail/mail.js';
import { outboxQuery, type outboxMessageResponse } from '../admin-schemas.js';

/** When `limit` is not given. */
const DEFAULT_PAGE = 50;

/**
 * /admin/outbox: every email Gatehouse wrote, newest first, read-only. With no SMTP_URL this is
 * where mail is read (embedded and development setups).
 * - `GET /admin/outbox?limit=&after=&to=` — a bare array; `after` is the id of the last message of
 *   the previous page; `to` matches the recipient exactly, case-insensitively.
 */
export function outboxRoutes(r: Router, outbox: Pick<OutboxRepository, 'list'>): void {
  r.get('/outbox', async (ctx) => {
    const parsed = outboxQuery.safeParse(ctx.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new GatehouseError('invalid_request', `${issue.path.join('.') || 'query'}: ${issue.message}`);
    }
    const { limit = DEFAULT_PAGE, after, to } = parsed.data;
    const messages = await outbox.list({ limit, after: after || undefined, to: to || undefined });
    ctx.body = messages.map(outboxMessageJson);
  });
}

export function outboxMessageJson(m: OutboxMessage): z.infer<typeof outboxMessageResponse> {
  return {
    id: m.id,
    to: m.to,
    template: m.template,
    subject: m.subject,
    text: m.text,
    html: m.html,
    status: m.status,
    attempts: m.attempts,
    last_error: m.lastError,
    created_at: m.createdAt.toISOString(),
    ...(m.sentAt ? { sent_at: m.sentAt.toISOString() } : {}),
  };
}
