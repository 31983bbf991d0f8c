import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { AuditEvent, AuditEventType, StoredAuditEvent } from '../../domain/audit/audit-event.js';
import type { AuditBatch, AuditEventRepository, AuditFilter, AuditPage } from '../../domain/audit/audit-log.js';
import { Conflict } from '../../domain/errors.js';
import type { Database } from '../database.js';
import { classifyStorageError } from '../storage-errors.js';

type Row = {
  id: string;
  occurred_at: Date | string;
  type: string;
  actor: string;
  subject: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  data: unknown;
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
  data: (typeof r.data === 'string' ? JSON.parse(r.data) : (r.data ?? {})) as Record<string, unknown>,
});

/**
 * One COPY per batch, on either backend: COPY appends rows a page at a time and costs the database
 * about half the work per row of a multi-row INSERT. The first row carries the batch key (unique
 * where not null: one index entry per batch, not per event), so a batch written again after a
 * commit that was never acknowledged fails on the key and is undone whole: stored once.
 */
const COLUMN_LIST = '(occurred_at, type, actor, subject, client_id, ip, user_agent, request_id, data, batch_key)';
/** PostgreSQL: the rows stream over the connection (pg-copy-streams). */
const COPY_FROM_STDIN = `copy audit_events ${COLUMN_LIST} from stdin`;
/** PGlite: the rows are handed over as a blob. */
const COPY_FROM_BLOB = `copy audit_events ${COLUMN_LIST} from '/dev/blob'`;
const BATCH_KEY_INDEX = 'audit_events_batch_key_idx';

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format: \N is null; backslash, tab, newline and carriage return escaped. */
function copyText(value: string | null | undefined): string {
  if (value === undefined || value === null) return '\\N';
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : value;
}

/** The second last formatted, and its ISO 8601 text up to the milliseconds ("…T20:38:12."). */
let cachedSecond = Number.NaN;
let cachedSecondText = '';

/**
 * `date.toISOString()`, with the text up to the milliseconds reused while the second is the same:
 * events recorded close together share it, and formatting it is most of toISOString's cost.
 */
function isoTimestamp(date: Date): string {
  const ms = date.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondText = date.toISOString().slice(0, -4);
  }
  const fraction = ms - second * 1000;
  return `${cachedSecondText}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
}

/** One row: the columns of COLUMN_LIST, tab-separated. */
function copyLine(e: AuditEvent, batchKey: string | undefined): string {
  return `${isoTimestamp(e.occurredAt)}\t${copyText(e.type)}\t${copyText(e.actor)}\t${copyText(e.subject)}\t${copyText(e.clientId)}\t${copyText(
    e.ip,
  )}\t${copyText(e.userAgent)}\t${copyText(e.requestId)}\t${copyText(JSON.stringify(e.data ?? {}))}\t${copyText(batchKey)}\n`;
}

const isBatchAlreadyStored = (err: unknown) => err instanceof Conflict && err.constraint === BATCH_KEY_INDEX;

/** First size of a batch's buffer; it doubles as needed (a full batch of 500 token events is ~110 KiB). */
const INITIAL_BATCH_BYTES = 32 * 1024;

/**
 * A batch as COPY text, encoded as UTF-8 into one growing buffer as events are appended: memory
 * outside the JS heap, sent as it is. The first row carries the batch key.
 */
class CopyBatch implements AuditBatch {
  #bytes = Buffer.allocUnsafe(INITIAL_BATCH_BYTES);
  #length = 0;
  #count = 0;

  constructor(readonly key: string) {}

  get count(): number {
    return this.#count;
  }

  /** The rows so far (a view, not a copy). */
  get rows(): Buffer<ArrayBuffer> {
    return this.#bytes.subarray(0, this.#length);
  }

  append(event: AuditEvent): void {
    const line = copyLine(event, this.#count === 0 ? this.key : undefined);
    // A UTF-16 code unit never takes more than 3 bytes of UTF-8.
    const needed = this.#length + line.length * 3;
    if (needed > this.#bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(needed, this.#bytes.length * 2));
      this.#bytes.copy(bigger, 0, 0, this.#length);
      this.#bytes = bigger;
    }
    this.#length += this.#bytes.write(line, this.#length);
    this.#count++;
  }
}

/**
 * Streams `rows` through COPY; resolves once the rows are committed. pg's query_timeout (set on
 * every pooled connection, see Database.open) covers it like any other statement.
 */
function copyInto(connection: pg.Client, rows: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const copy = connection.query(copyStreams.from(COPY_FROM_STDIN));
    copy.on('error', reject);
    copy.on('finish', resolve);
    copy.end(rows);
  });
}

/** `audit_events`: append-only; ids are the cursor (pg returns bigint as text, PGlite as number: cast). */
export class SqlAuditEventRepository implements AuditEventRepository {
  constructor(private readonly database: Database) {}

  openBatch(key: string): AuditBatch {
    return new CopyBatch(key);
  }

  async insertBatch(batch: AuditBatch): Promise<void> {
    if (!(batch instanceof CopyBatch)) throw new TypeError('audit batch was not opened by this repository');
    if (!batch.count) return;
    const rows = batch.rows;
    // COPY is not a query knex can send: borrow its pooled connection (a pg client, or the one PGlite
    // instance, so no knex transaction is open on it meanwhile).
    const pool = this.database.db().client as {
      acquireConnection(): Promise<unknown>;
      releaseConnection(c: unknown): Promise<void>;
    };
    const connection = await pool.acquireConnection();
    try {
      if (this.database.kind === 'pglite')
        await (connection as PGlite).query(COPY_FROM_BLOB, [], { blob: new Blob([rows]) });
      else await copyInto(connection as pg.Client, rows);
    } catch (caught) {
      // COPY talks to the driver directly, past the classifying knex client.
      const err = classifyStorageError(caught);
      if (isBatchAlreadyStored(err)) return;
      // On PostgreSQL a timeout or a broken connection leaves the COPY's state unknown: close the
      // socket so nothing more arrives for it, and mark the connection disposed (knex's own mark,
      // checked before the pool hands a connection out) so no request is given it meanwhile.
      const socket = (connection as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
      if (socket) {
        (connection as { __knex__disposed?: unknown }).__knex__disposed = caught;
        socket.destroy();
      }
      throw err;
    } finally {
      await pool.releaseConnection(connection);
    }
  }

  async list(filter: AuditFilter, page: AuditPage): Promise<StoredAuditEvent[]> {
    const q = this.database
      .db()('audit_events')
      .select(
        this.database.db().raw('id::text as id'),
        'occurred_at',
        'type',
        'actor',
        'subject',
        'client_id',
        'ip',
        'user_agent',
        'request_id',
        'data',
      );
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
