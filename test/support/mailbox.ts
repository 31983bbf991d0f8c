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

export interface MailQuery {
  /** Only emails of this template. */
  template?: string;
  /** Oldest first (the order they were written) instead of newest first, for tests comparing sequences. */
  oldestFirst?: boolean;
  limit?: number;
}

/**
 * The emails Gatehouse wrote to `to`, newest first unless `oldestFirst`, read over the admin API
 * (GET /admin/outbox?to=): what tests use to follow a link or read a code, with or without SMTP_URL.
 */
export async function mailTo(gh: RunningGatehouse, to: string, query: MailQuery = {}): Promise<OutboxEntry[]> {
  const { template, oldestFirst = false, limit = 200 } = query;
  const res = await gh.admin('GET', `/admin/outbox?to=${encodeURIComponent(to)}&limit=${limit}`);
  if (res.status !== 200) throw new Error(`GET /admin/outbox: ${res.status} ${JSON.stringify(res.body)}`);
  const mails = (res.body as OutboxEntry[]).filter((m) => !template || m.template === template);
  return oldestFirst ? mails.reverse() : mails;
}

/** The newest `template` email to `to`; throws when there is none. */
export async function lastMail(gh: RunningGatehouse, to: string, template: string): Promise<OutboxEntry> {
  const [mail] = await mailTo(gh, to, { template });
  if (!mail) throw new Error(`no ${template} email to ${to}`);
  return mail;
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
    const fresh = (await mailTo(gh, to, { template: options.template })).filter((m) => !seen.has(m.id));
    if (fresh.length) return fresh[0]!;
    if (Date.now() > deadline) throw new Error(`no email${options.template ? ` ${options.template}` : ''} to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The first link in the text body whose path starts with `path` (e.g. '/verify-email'), or, when
 * `path` is absolute, whose whole address starts with it (e.g. `${gh.issuer}/x?token=`: on the issuer).
 */
export function linkIn(mail: Pick<OutboxEntry, 'text'>, path: string): URL {
  const absolute = /^https?:/.test(path);
  for (const match of mail.text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
    const url = new URL(match[0]);
    if (absolute ? match[0].startsWith(path) : url.pathname.startsWith(path)) return url;
  }
  throw new Error(`no ${path} link in the email: ${mail.text.slice(0, 200)}`);
}

/** The `path` link (e.g. '/verify-email') in the newest `template` email to `to`, as a string to open. */
export async function linkFrom(gh: RunningGatehouse, to: string, template: string, path: string): Promise<string> {
  return linkIn(await lastMail(gh, to, template), path).href;
}

/** The 6-digit code in an email's text (a sign-in code). */
export function codeIn(mail: Pick<OutboxEntry, 'text'>): string {
  const m = /\b(\d{6})\b/.exec(mail.text);
  if (!m) throw new Error(`no 6-digit code in the email: ${mail.text.slice(0, 200)}`);
  return m[1]!;
}
