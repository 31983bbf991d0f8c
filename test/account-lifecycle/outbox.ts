import type { RunningGatehouse } from '../support/gatehouse.js';

export interface SentMail {
  to: string;
  template: string;
  subject: string;
  text: string;
}

/**
 * The messages queued for `to`, oldest first, read from the running instance's own `outbox`
 * table (no second PGlite on its directory). Temporary: the outbox helper's `GET /admin/outbox`
 * replaces it once merged.
 */
export async function mailTo(gh: RunningGatehouse, to: string, template?: string): Promise<SentMail[]> {
  const rows = (await gh.instance.database
    .db()('outbox')
    .whereRaw('lower(to_address) = lower(?)', [to])
    .modify((q) => {
      if (template) q.andWhere({ template });
    })
    .orderBy('created_at', 'asc')
    .select('to_address', 'template', 'subject', 'text_body')) as Array<Record<string, string>>;
  return rows.map((r) => ({ to: r.to_address!, template: r.template!, subject: r.subject!, text: r.text_body! }));
}

/** The first absolute link in a message's text that starts with `prefix` (an issuer path). */
export function linkIn(mail: SentMail, gh: RunningGatehouse, path: string): string {
  const escaped = `${gh.issuer}${path}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${escaped}\\S*`).exec(mail.text);
  if (!m) throw new Error(`no ${path} link in: ${mail.text}`);
  return m[0];
}
