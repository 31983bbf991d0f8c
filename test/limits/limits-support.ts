import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { type client, startAuthorization } from '../support/relying-party.js';
import { formAction, hiddenField } from '../support/user-agent.js';

/**
 * A sign-in page opened on `gh` (one browser), and a function posting email + password to it.
 * Every post is a fresh attempt on the same interaction, as a person retyping would make.
 */
export async function passwordForm(gh: RunningGatehouse, config: client.Configuration) {
  const { ua, step: page } = await startAuthorization(gh, config, { scope: 'openid' });
  if (!page.html?.includes('name="password"')) throw new Error('no sign-in form');
  const action = new URL(formAction(page.html), gh.issuer).toString();
  const csrf = hiddenField(page.html, 'csrf');
  return async (email: string, password: string) => {
    const res = await ua.request(action, { form: { csrf, email, password } });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), html: await res.text() };
  };
}

/** The error line the sign-in page shows (the page's role="alert" text), whitespace folded. */
export function pageMessage(html: string): string {
  const m = /role="alert"[^>]*>([\s\S]*?)<\//.exec(html);
  return (m?.[1] ?? '').replace(/\s+/g, ' ').trim();
}

/** The account's audit events of `type`, once at least `n` arrived (audit batches flush every 200 ms). */
export async function auditEvents(gh: RunningGatehouse, type: string, userId: string, n = 1) {
  for (let tries = 0; ; tries++) {
    const res = await gh.admin('GET', `/admin/audit-events?type=${type}&user=${encodeURIComponent(userId)}`);
    const items = res.body.items as Array<{ actor: string; data: Record<string, unknown> }>;
    if (items.length >= n || tries > 30) return items;
    await sleep(100);
  }
}
