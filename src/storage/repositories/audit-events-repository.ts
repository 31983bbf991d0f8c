import type { AuditBatch, AuditEvent, AuditEventType, StoredAuditEvent } from '../../domain/audit/audit-event.js';
import type { AuditEventRepository, AuditFilter, AuditPage } from '../../domain/audit/audit-log.js';
import type { Database } from '../database.js';

type Row = {
  id: string; occurred_at: Date | string; type: string; actor: string; subject: string | null; client_id: string | null;
  ip: string | null; user_agent: string | null; request_id: string | null; data: unknown;
};

const toRow = (e: AuditEvent) => ({
  occurred_at: e.occurredAt,
  type: e.type,
  actor: e.actor,
  subject: e.subject,
  client_id: e.clientId,
  ip: e.ip,
  user_agent: e.userAgent,
  request_id: e.requestId,
  data: e.data,
});

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

const COLUMNS = `occurred_at timestamptz, type text, actor text, subject text, client_id text, ip text,
  user_agent text, request_id text, data jsonb`;

/**
 * One statement per batch. The first event ($1) is stored with the batch key (unique where not
 * null: one index entry per batch, not per event); the others ($2) only if that row was. So a
 * batch written again after a commit that was never acknowledged is skipped whole, and the key
 * row comes first in id order.
 */
const INSERT_BATCH_SQL = `with head as (
  insert into audit_events (occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, data, batch_key)
  select occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, coalesce(data, '{}'::jsonb), ?::uuid
  from jsonb_to_record(?::jsonb) as e(${COLUMNS})
  on conflict (batch_key) where batch_key is not null do nothing
  returning 1
)
insert into audit_events (occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, data)
select occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, coalesce(data, '{}'::jsonb)
from jsonb_to_recordset(?::jsonb) as e(${COLUMNS})
where exists (select 1 from head)`;

/** `audit_events`: append-only; ids are the cursor (pg returns bigint as text, PGlite as number: cast). */
export class SqlAuditEventRepository implements AuditEventRepository {
  constructor(private readonly database: Database) {}

  async insertBatch(batch: AuditBatch): Promise<void> {
    if (!batch.events.length) return;
    // JSON parameters: no per-value bind building on the app side. Absent members are left out of
    // the JSON (undefined), which the record functions read as null.
    const [head, ...rest] = batch.events.map(toRow);
    await this.database.db().raw(INSERT_BATCH_SQL, [batch.key, JSON.stringify(head), JSON.stringify(rest)]);
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
