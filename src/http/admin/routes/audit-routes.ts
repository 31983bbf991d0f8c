import { Readable } from 'node:stream';
import type Router from '@koa/router';
import { isAuditEventType } from '../../../domain/audit/audit-event.js';
import { MAX_ID_CHARS, type AuditFilter, type AuditTrail } from '../../../domain/audit/audit-log.js';
import { GatehouseError } from '../../../domain/errors.js';
import { pageParams } from '../validate.js';

/** Rows read from the database per query while exporting; the export never holds more. */
const EXPORT_PAGE_ROWS = 500;

/**
 * /admin/audit-events: the audit log, read-only.
 * - `GET /admin/audit-events?type=&user=&client=&since=&until=&limit=&after=` — newest first;
 *   `next_cursor` (an event id) is passed back as `after` for the next, older page.
 * - `GET /admin/audit-events/export?…` — the same filters as NDJSON, oldest first, streamed from
 *   the database page by page; `after` resumes after an id already exported, `limit` caps the lines.
 * `since` is inclusive, `until` exclusive (RFC 3339 timestamps).
 */
export function auditRoutes(r: Router, events: AuditTrail): void {
  r.get('/audit-events', async (ctx) => {
    const filter = parseAuditFilter(ctx.query);
    const page = pageParams(ctx.query);
    const items = await events.list(filter, {
      limit: page.limit,
      after: parseAuditCursor(ctx.query.after),
      order: 'desc',
    });
    ctx.body = { items, next_cursor: items.length === page.limit ? items.at(-1)!.id : null };
  });

  r.get('/audit-events/export', async (ctx) => {
    const filter = parseAuditFilter(ctx.query);
    const max = ctx.query.limit === undefined ? Infinity : exportLimit(ctx.query.limit);
    let after = parseAuditCursor(ctx.query.after);
    // The first page is read before answering, so a database error is still a clean 5xx.
    let first: Awaited<ReturnType<AuditTrail['list']>> | undefined = await events.list(filter, {
      limit: Math.min(EXPORT_PAGE_ROWS, max),
      after,
      order: 'asc',
    });
    let sent = 0;
    const log = ctx.state.log;
    async function* lines(): AsyncGenerator<string> {
      while (sent < max) {
        const page =
          first ?? (await events.list(filter, { limit: Math.min(EXPORT_PAGE_ROWS, max - sent), after, order: 'asc' }));
        first = undefined;
        if (!page.length) return;
        yield page.map((e) => `${JSON.stringify(e)}\n`).join('');
        sent += page.length;
        after = page.at(-1)!.id;
        if (page.length < EXPORT_PAGE_ROWS) return;
      }
    }
    const stream = Readable.from(lines(), { objectMode: false });
    // Headers are gone once streaming starts: a failure can only cut the stream short (the
    // client sees a truncated last line) and is logged.
    stream.on('error', (err) => log.error({ err }, 'audit export failed'));
    ctx.type = 'application/x-ndjson';
    ctx.set('Content-Disposition', 'attachment; filename="audit-events.ndjson"');
    ctx.body = stream;
  });
}

function exportLimit(raw: unknown): number {
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < 1)
    throw new GatehouseError('invalid_request', 'limit must be a positive integer');
  return n;
}

/** Raw admin-API query values, validated into a filter (400 on anything malformed). */
export function parseAuditFilter(query: Record<string, unknown>): AuditFilter {
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new GatehouseError('invalid_request', `${name} must be given once`);
    if (v.length > MAX_ID_CHARS) throw new GatehouseError('invalid_request', `${name} is too long`);
    return v;
  };
  const time = (name: string): Date | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    // RFC 3339 date-time (or a bare date): anything Date would guess at is refused.
    if (!/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2}))?$/.test(v)) {
      throw new GatehouseError('invalid_request', `${name} must be an RFC 3339 timestamp`);
    }
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new GatehouseError('invalid_request', `${name} must be an RFC 3339 timestamp`);
    return d;
  };
  const type = one('type');
  if (type !== undefined && !isAuditEventType(type))
    throw new GatehouseError('invalid_request', 'type is not a known audit event type');
  const since = time('since');
  const until = time('until');
  if (since && until && since > until)
    throw new GatehouseError('invalid_request', 'since must not be later than until');
  return { type, subject: one('user'), clientId: one('client'), since, until };
}

/** An `after` cursor is an event id. */
export function parseAuditCursor(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^[1-9]\d{0,17}$/.test(value))
    throw new GatehouseError('invalid_request', 'after must be an event id from next_cursor');
  return value;
}
