import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminClient } from './admin-client.js';
import { formatTable } from './cli-output.js';

/** How often `audit tail --follow` polls the audit log; the server cannot push events. */
export const DEFAULT_POLL_MS = 2000;
/** Events shown by `audit tail` before following (the admin API's page size cap is 200). */
export const DEFAULT_TAIL = 20;
const MAX_PAGE = 200;

export interface TailOptions {
  type?: string;
  user?: string;
  client?: string;
  limit: number;
  follow: boolean;
  intervalMs: number;
  table: boolean;
  signal?: AbortSignal;
}

const AUDIT_COLUMNS = ['id', 'occurred_at', 'type', 'actor', 'subject', 'client_id'];

/** Prints audit events oldest first, one JSON object per line (or table rows), then polls for newer ones. */
export async function auditTail(api: AdminClient, o: TailOptions, write: (s: string) => void): Promise<void> {
  const filter: Record<string, string> = {};
  if (o.type) filter.type = o.type;
  if (o.user) filter.user = o.user;
  if (o.client) filter.client = o.client;
  const print = (events: any[]) => {
    if (!events.length) return;
    write(o.table ? formatTable(events, AUDIT_COLUMNS) : events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  };
  const first: any[] = (
    await api.get(`/admin/audit-events?${new URLSearchParams({ ...filter, limit: String(o.limit) })}`)
  ).items;
  print([...first].reverse());
  let last = first[0]?.id as string | undefined;
  while (o.follow && !o.signal?.aborted) {
    await sleep(o.intervalMs);
    // Newest first: read pages until the last event already shown.
    const fresh: any[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await api.get(
        `/admin/audit-events?${new URLSearchParams({ ...filter, limit: String(MAX_PAGE), ...(after ? { after } : {}) })}`,
      );
      const items = page.items as any[];
      const stop = last === undefined ? -1 : items.findIndex((e) => BigInt(e.id) <= BigInt(last!));
      fresh.push(...(stop < 0 ? items : items.slice(0, stop)));
      if (stop >= 0 || !page.next_cursor) break;
      after = page.next_cursor;
    }
    if (fresh.length) last = fresh[0].id;
    print(fresh.reverse());
  }
}
