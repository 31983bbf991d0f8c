import assert from 'node:assert/strict';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { type Page, SignIn } from '../mfa/mfa-flow.js';

/** The mail in the outbox (read through the instance's database; the admin outbox route is another helper's). */
export interface Mail {
  template: string;
  subject: string;
  text: string;
}

export async function mailTo(gh: RunningGatehouse, to: string): Promise<Mail[]> {
  const rows = await gh.instance.database
    .db()('outbox')
    .whereRaw('lower(to_address) = ?', [to.toLowerCase()])
    .orderBy('created_at', 'asc')
    .select('template', 'subject', 'text_body');
  return rows.map((r: { template: string; subject: string; text_body: string }) => ({
    template: r.template,
    subject: r.subject,
    text: r.text_body,
  }));
}

export async function lastMail(gh: RunningGatehouse, to: string, template: string): Promise<Mail> {
  const mails = (await mailTo(gh, to)).filter((m) => m.template === template);
  assert.ok(mails.length, `no ${template} mail to ${to}`);
  return mails[mails.length - 1]!;
}

export const codeIn = (mail: Mail) => {
  const m = /\b(\d{6})\b/.exec(mail.text);
  assert.ok(m, 'no 6-digit code in the mail');
  return m[1]!;
};

export const linkIn = (mail: Mail) => {
  const m = /(http\S+\/sign-in-link\?token=[\w%-]+)/.exec(mail.text);
  assert.ok(m, 'no sign-in link in the mail');
  return m[1]!;
};

const decode = (s: string) => s.replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)));

/** The `formaction` of the sign-in page's button with this text. */
export function buttonAction(html: string, text: string): string {
  const m = new RegExp(`<button[^>]*formaction="([^"]+)"[^>]*>${text}</button>`).exec(html);
  assert.ok(m, `no button "${text}"`);
  return decode(m[1]!);
}

/**
 * "Email me a sign-in code/link" pressed on the sign-in page with `email` in the Email field
 * (the password field goes along empty, as a browser sends the whole form).
 */
export async function askByEmail(
  gh: RunningGatehouse,
  signIn: SignIn,
  login: Page,
  email: string,
  via: 'code' | 'link',
): Promise<Page> {
  const text = via === 'code' ? 'Email me a sign-in code' : 'Email me a sign-in link';
  const csrf = /name="csrf" value="([^"]*)"/.exec(login.html)![1]!;
  const step = await signIn.ua.follow(new URL(buttonAction(login.html, text), gh.issuer).toString(), gh.issuer, {
    form: { csrf, email, password: '', via },
  });
  return { res: step.res, url: step.url, html: step.html ?? '' };
}

export { SignIn, type Page };
