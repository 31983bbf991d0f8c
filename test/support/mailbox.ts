import type { RunningGatehouse } from './gatehouse.js';

/** One message of the outbox as GET /admin/outbox shows it. */
export interface OutboxEntry {
  id: string;
  to: string;
  template: string;
  subject: string;
  text: string;
  html: string;
  status: 'queued' | 'sending' | 'sent' | 'failed';
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at?: string;
}

/**
 * The emails Gatehouse wrote to `to`, newest first, read over the admin API (GET /admin/outbox?to=):
 * what tests use to follow a link or read a code, with or without SMTP_URL.
 */
export async function mailTo(gh: RunningGatehouse, to: string, limit = 200): Promise<OutboxEntry[]> {
  const res = await gh.admin('GET', `/admin/outbox?to=${encodeURIComponent(to)}&limit=${limit}`);
  if (res.status !== 200) throw new Error(`GET /admin/outbox: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as OutboxEntry[];
}

/**
 * Waits for an email to `to` (of `template`, when given) that was not there before `since`
 * (the ids already seen, e.g. from an earlier mailTo) and returns the newest.
 */
export async function waitForMail(
  gh: RunningGatehouse,
  to: string,
  options: { template?: string; since?: OutboxEntry[]; timeoutMs?: number } = {},
): Promise<OutboxEntry> {
  const seen = new Set((options.since ?? []).map((m) => m.id));
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  for (;;) {
    const fresh = (await mailTo(gh, to)).filter(
      (m) => !seen.has(m.id) && (!options.template || m.template === options.template),
    );
    if (fresh.length) return fresh[0]!;
    if (Date.now() > deadline) throw new Error(`no email${options.template ? ` ${options.template}` : ''} to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first link in the text body whose path starts with `path` (e.g. '/verify-email'). */
export function linkIn(mail: Pick<OutboxEntry, 'text'>, path: string): URL {
  for (const match of mail.text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
    const url = new URL(match[0]);
    if (url.pathname.startsWith(path)) return url;
  }
  throw new Error(`no ${path} link in the email: ${mail.text.slice(0, 200)}`);
}
