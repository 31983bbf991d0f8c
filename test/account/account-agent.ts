import assert from 'node:assert/strict';
import type { BackendName } from '../support/backends.js';
import { type RunningGatehouse, startGatehouse } from '../support/gatehouse.js';
import { formAction, hiddenField, type UserAgent } from '../support/user-agent.js';

/**
 * Gatehouse for the account page tests: audit events flushed within 50 ms (the tests read them
 * back), and the account page's clock `clock.offsetMs` ahead of the real one (a sign-in grown old).
 */
export function startAccountGatehouse(backend: BackendName, clock = { offsetMs: 0 }) {
  return startGatehouse(backend, {
    env: { AUDIT_FLUSH_INTERVAL_MS: '50' },
    parts: { now: () => Date.now() + clock.offsetMs },
  });
}

/** Attribute values as the views escape them (`&#61;` for `=`). */
export const decodeEntities = (s: string) => s.replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)));

export interface PageForm {
  action: string;
  method: string;
  fields: Record<string, string>;
}

/** The forms of a page whose submit button reads exactly `label`, in page order. */
export function formsWithButton(html: string, label: string): PageForm[] {
  const forms: PageForm[] = [];
  for (const m of html.matchAll(/<form([^>]*)>([\s\S]*?)<\/form>/g)) {
    const [attrs, body] = [m[1]!, m[2]!];
    const buttons = [...body.matchAll(/<button[^>]*>([\s\S]*?)<\/button>/g)].map((b) => b[1]!.trim());
    if (!buttons.includes(label)) continue;
    const fields: Record<string, string> = {};
    for (const f of body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      fields[f[1]!] = decodeEntities(f[2]!);
    forms.push({
      action: decodeEntities(/action="([^"]*)"/.exec(attrs)?.[1] ?? ''),
      method: (/method="([^"]*)"/.exec(attrs)?.[1] ?? 'get').toLowerCase(),
      fields,
    });
  }
  return forms;
}

/** The href of the link that reads exactly `label`. */
export function linkHref(html: string, label: string): string {
  for (const m of html.matchAll(/<a[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/g))
    if (m[2]!.trim() === label) return decodeEntities(m[1]!);
  throw new Error(`no link "${label}" on the page`);
}

/** Submits a form found by `formsWithButton`, following redirects within the issuer. */
export async function submit(gh: RunningGatehouse, ua: UserAgent, form: PageForm, extra: Record<string, string> = {}) {
  const url = new URL(form.action, gh.issuer).toString();
  if (form.method === 'get') return ua.follow(url, gh.issuer);
  return ua.follow(url, gh.issuer, { form: { ...form.fields, ...extra } });
}

/** Fills in the sign-in form on `html` (email and password) and follows wherever it leads. */
export async function passwordSignIn(
  gh: RunningGatehouse,
  ua: UserAgent,
  html: string,
  user: { email: string; password: string },
) {
  assert.ok(html.includes('name="password"'), 'a sign-in page');
  return ua.follow(new URL(formAction(html), gh.issuer).toString(), gh.issuer, {
    form: { csrf: hiddenField(html, 'csrf'), email: user.email, password: user.password },
  });
}

/** Opens `path` in `ua`; signs in with the password when the provider asks; returns the page reached. */
export async function openAccount(
  gh: RunningGatehouse,
  ua: UserAgent,
  user: { email: string; password: string },
  path = '/account',
) {
  let step = await ua.follow(`${gh.issuer}${path}`, gh.issuer);
  if (step.html?.includes('name="password"')) step = await passwordSignIn(gh, ua, step.html, user);
  return step;
}

/** The audit events of `type` about `userId`, waiting (briefly) for the buffered log to flush. */
export async function auditEvents(gh: RunningGatehouse, type: string, userId: string, atLeast = 1) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const res = await gh.admin('GET', `/admin/audit-events?${new URLSearchParams({ type, user: userId })}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const items = res.body.items as Array<{ actor: string; data?: Record<string, unknown>; client_id?: string }>;
    if (items.length >= atLeast || Date.now() > deadline) return items;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
