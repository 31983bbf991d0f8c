import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
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
 * PGlite: one statement per batch. The first event ($1) is stored with the batch key (unique where
 * not null: one index entry per batch, not per event); the others ($2) only if that row was. So a
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

/**
 * PostgreSQL: COPY, which appends rows a page at a time (about half the database's work per row
 * of the INSERT above). The first row carries the batch key, so a batch already stored fails on
 * the key's unique index and the whole COPY is undone: stored once.
 */
const COPY_SQL = 'copy audit_events (occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, data, batch_key) from stdin';
const BATCH_KEY_INDEX = 'audit_events_batch_key_idx';
const UNIQUE_VIOLATION = '23505';

/** A value in COPY's text format: \N is null; backslash, tab, newline and carriage return escaped. */
function copyText(value: string | undefined): string {
  if (value === undefined) return '\\N';
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : value;
}

function copyLine(e: AuditEvent, batchKey: string | undefined): string {
  return `${[e.occurredAt.toISOString(), e.type, e.actor, e.subject, e.clientId, e.ip, e.userAgent, e.requestId, JSON.stringify(e.data), batchKey]
    .map(copyText).join('\t')}\n`;
}

const isBatchAlreadyStored = (err: unknown) => {
  const e = err as { code?: string; constraint?: string };
  return e?.code === UNIQUE_VIOLATION && e.constraint === BATCH_KEY_INDEX;
};

/**
 * Streams `text` through COPY; resolves once the rows are committed. pg's query_timeout (set on
 * every pooled connection, see Database.open) covers it like any other statement.
 */
function copyInto(connection: pg.Client, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const copy = connection.query(copyStreams.from(COPY_SQL));
    copy.on('error', reject);
    copy.on('finish', resolve);
    copy.end(text);
  });
}

/** `audit_events`: append-only; ids are the cursor (pg returns bigint as text, PGlite as number: cast). */
export class SqlAuditEventRepository implements AuditEventRepository {
  constructor(private readonly database: Database) {}

  async insertBatch(batch: AuditBatch): Promise<void> {
    if (!batch.events.length) return;
    if (this.database.kind === 'postgres') return this.#copyBatch(batch);
    // JSON parameters: no per-value bind building on the app side. Absent members are left out of
    // the JSON (undefined), which the record functions read as null.
    const [head, ...rest] = batch.events.map(toRow);
    await this.database.db().raw(INSERT_BATCH_SQL, [batch.key, JSON.stringify(head), JSON.stringify(rest)]);
  }

  async #copyBatch(batch: AuditBatch): Promise<void> {
    const text = batch.events.map((e, i) => copyLine(e, i === 0 ? batch.key : undefined)).join('');
    // A pooled pg client of knex's: COPY is not a query knex can send.
    const pool = this.database.db().client as { acquireConnection(): Promise<pg.Client>; releaseConnection(c: pg.Client): Promise<void> };
    const connection = await pool.acquireConnection();
    try {
      await copyInto(connection, text);
    } catch (err) {
      if (!isBatchAlreadyStored(err)) {
        // A timeout or a broken connection leaves the COPY's state unknown: close the socket so
        // nothing more arrives for it, and knex drops the connection instead of reusing it.
        (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        throw err;
      }
    } finally {
      await pool.releaseConnection(connection);
    }
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
