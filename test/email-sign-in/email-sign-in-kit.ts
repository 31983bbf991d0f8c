import assert from 'node:assert/strict';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { type Page, SignIn } from '../mfa/mfa-flow.js';

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
