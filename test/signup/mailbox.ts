import type { RunningGatehouse } from '../support/gatehouse.js';

/** An email as the outbox holds it (SMTP_URL is unset in tests: mail stays there). */
export interface OutboxMail {
  to: string;
  template: string;
  subject: string;
  text: string;
}

/** Every email to `address`, oldest first, read from the instance's own outbox table. */
export async function mailTo(gh: RunningGatehouse, address: string): Promise<OutboxMail[]> {
  const rows = await gh.instance.database
    .db()('outbox')
    .whereRaw('lower(to_address) = lower(?)', [address])
    .orderBy('created_at', 'asc')
    .select('to_address', 'template', 'subject', 'text_body');
  return rows.map((r: Record<string, string>) => ({
    to: r.to_address!,
    template: r.template!,
    subject: r.subject!,
    text: r.text_body!,
  }));
}

/** The link to `path` (e.g. `/verify-email`) in the latest `template` email to `address`. */
export async function linkFrom(gh: RunningGatehouse, address: string, template: string, path: string) {
  const mail = (await mailTo(gh, address)).filter((m) => m.template === template).at(-1);
  if (!mail) throw new Error(`no ${template} email to ${address}`);
  const escaped = path.replace(/[/?]/g, (c) => `\\${c}`);
  const m = new RegExp(`https?://[^\\s]+${escaped}\\?token=[A-Za-z0-9_-]+`).exec(mail.text);
  if (!m) throw new Error(`no ${path} link in ${template}: ${mail.text}`);
  return m[0];
}

/** A page with what differs per request masked: CSRF/hidden values, interaction ids, the address typed. */
export function masked(html: string, email?: string): string {
  let out = html.replace(/value="[^"]*"/g, 'value="…"').replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/…');
  if (email) out = out.split(email).join('EMAIL');
  return out;
}
