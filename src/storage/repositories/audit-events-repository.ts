import type { AuditEvent, AuditEventType, StoredAuditEvent } from '../../domain/audit/audit-event.js';
import type { AuditEventRepository, AuditFilter, AuditPage } from '../../domain/audit/audit-log.js';
import type { Database } from '../database.js';

type Row = {
  id: string; occurred_at: Date | string; type: string; actor: string; subject: string | null; client_id: string | null;
  ip: string | null; user_agent: string | null; request_id: string | null; data: unknown;
};

const toEvent = (r: Row): StoredAuditEvent => ({
  id: r.id,
  occurred_at: new Date(r.occurred_at).toISOString(),
  type: r.type as AuditEventType,
  actor: r.actor,
  subject: r.subject,
  client_id: r.client_id,
  ip: r.ip,
  user_agent: r.user_agent,
  request_id: r.request_id,
  data: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data ?? {}) as Record<string, unknown>,
});

// Idempotent: a batch retried after an unacknowledged commit stores each event once (event_key).
const INSERT_BATCH_SQL = `insert into audit_events (occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, data, event_key)
select occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, coalesce(data, '{}'::jsonb), event_key
from jsonb_to_recordset(?::jsonb) as e(occurred_at timestamptz, type text, actor text, subject text,
  client_id text, ip text, user_agent text, request_id text, data jsonb, event_key uuid)
on conflict (event_key) do nothing`;

/** `audit_events`: append-only; ids are the cursor (pg returns bigint as text, PGlite as number: cast). */
export class SqlAuditEventRepository implements AuditEventRepository {
  constructor(private readonly database: Database) {}

  async insertMany(events: readonly AuditEvent[]): Promise<void> {
    if (!events.length) return;
    // One JSON parameter for the whole batch: no per-value bind building on the app side.
    const batch = JSON.stringify(events.map((e) => ({
      occurred_at: e.occurredAt,
      type: e.type,
      actor: e.actor,
      subject: e.subject ?? null,
      client_id: e.clientId ?? null,
      ip: e.ip ?? null,
      user_agent: e.userAgent ?? null,
      request_id: e.requestId ?? null,
      data: e.data,
      event_key: e.key ?? null,
    })));
    await this.database.db().raw(INSERT_BATCH_SQL, [batch]);
  }

  async list(filter: AuditFilter, page: AuditPage): Promise<StoredAuditEvent[]> {
    const q = this.database.db()('audit_events')
      .select(this.database.db().raw('id::text as id'), 'occurred_at', 'type', 'actor', 'subject', 'client_id', 'ip', 'user_agent', 'request_id', 'data');
    if (filter.type) q.where('type', filter.type);
    if (filter.subject) q.where('subject', filter.subject);
    if (filter.clientId) q.where('client_id', filter.clientId);
    if (filter.since) q.where('occurred_at', '>=', filter.since);
    if (filter.until) q.where('occurred_at', '<', filter.until);
    if (page.after) q.where('audit_events.id', page.order === 'desc' ? '<' : '>', page.after);
    // Qualified: a bare `id` in ORDER BY would sort by the text alias ("10" < "9").
    const rows = await q.orderBy('audit_events.id', page.order).limit(page.limit);
    return (rows as Row[]).map(toEvent);
  }
}
