import type { ComposedEmail, EmailTemplate, OutboxMessage, OutboxRepository } from '../../domain/mail/mail.js';
import type { Database } from '../database.js';

interface OutboxRow {
  id: string;
  to_address: string;
  template: string;
  subject: string;
  text_body: string;
  html_body: string;
  status: OutboxMessage['status'];
  attempts: number;
  next_attempt_at: Date | string;
  last_error: string | null;
  created_at: Date | string;
  sent_at: Date | string | null;
}

const toMessage = (r: OutboxRow): OutboxMessage => ({
  id: r.id,
  to: r.to_address,
  template: r.template as EmailTemplate,
  subject: r.subject,
  text: r.text_body,
  html: r.html_body,
  status: r.status,
  attempts: Number(r.attempts),
  nextAttemptAt: new Date(r.next_attempt_at),
  lastError: r.last_error,
  createdAt: new Date(r.created_at),
  sentAt: r.sent_at ? new Date(r.sent_at) : null,
});

/** The outbox table (migration 013). */
export class SqlOutboxRepository implements OutboxRepository {
  constructor(private readonly database: Database) {}

  async enqueue(m: { id: string; to: string; template: EmailTemplate } & ComposedEmail): Promise<void> {
    await this.database.db()('outbox').insert({
      id: m.id,
      to_address: m.to,
      template: m.template,
      subject: m.subject,
      text_body: m.text,
      html_body: m.html,
    });
  }

  async list(options: { limit: number; after?: string; to?: string }): Promise<OutboxMessage[]> {
    const db = this.database.db();
    const q = db('outbox').select('*');
    if (options.to) q.whereRaw('lower(to_address) = lower(?)', [options.to]);
    if (options.after) {
      const cursor = db('outbox').where({ id: options.after }).select('created_at');
      q.whereRaw('(created_at, id) < ((?), ?)', [cursor, options.after]);
    }
    const rows = (await q
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit)) as OutboxRow[];
    return rows.map(toMessage);
  }

  async claimDue(limit: number, leaseSeconds: number): Promise<OutboxMessage[]> {
    const result = await this.database.db().raw(
      `update outbox set status = 'sending', attempts = attempts + 1,
              lease_until = now() + make_interval(secs => ?)
        where id in (
          select id from outbox
           where (status = 'queued' and next_attempt_at <= now())
              or (status = 'sending' and lease_until < now())
           order by next_attempt_at
           limit ?
           for update skip locked)
       returning *`,
      [leaseSeconds, limit],
    );
    return (result as { rows: OutboxRow[] }).rows.map(toMessage);
  }

  // Once a message is sent (or given up) its bodies are emptied: they hold working links, and the
  // token store keeps only hashes so that a database read yields none. Queued mail keeps them.
  async markSent(id: string): Promise<void> {
    await this.database.db()('outbox').where({ id }).update({
      status: 'sent',
      sent_at: this.database.db().fn.now(),
      lease_until: null,
      last_error: null,
      text_body: '',
      html_body: '',
    });
  }

  async markFailed(id: string, error: string, retryAt: Date | undefined): Promise<void> {
    // Only a message still being sent: a worker whose lease ran out must not put back in the
    // queue a message that another worker has sent meanwhile.
    await this.database
      .db()('outbox')
      .where({ id, status: 'sending' })
      .update({
        status: retryAt ? 'queued' : 'failed',
        next_attempt_at: retryAt ?? this.database.db().fn.now(),
        lease_until: null,
        last_error: error.slice(0, 500),
        ...(retryAt ? {} : { text_body: '', html_body: '' }),
      });
  }
}
