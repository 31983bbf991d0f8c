import assert from 'node:assert/strict';
import { generate } from 'otplib';
import type { RunningGatehouse } from '../support/gatehouse.js';
import { CALLBACK, client } from '../support/relying-party.js';
import { formAction, hiddenField, UserAgent } from '../support/user-agent.js';

/**
 * Drives sign-in pages with a second factor as a browser without JavaScript would: each step
 * returns the page reached, so tests can assert on it before the next.
 */

const decode = (s: string) => s.replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)));

/** The codes an authenticator app shows for `secret` (otplib, from outside our code): now, or `steps` later. */
export const appCode = (secret: string, steps = 0) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

export interface Page {
  res: Response;
  url: string;
  html: string;
}

export class SignIn {
  readonly ua = new UserAgent();
  readonly verifier = client.randomPKCECodeVerifier();
  readonly state = client.randomState();
  readonly nonce = client.randomNonce();
  /** Another instance's base URL: form posts go there and their redirects are followed there (shared storage). */
  postBase?: string;

  constructor(
    private readonly gh: RunningGatehouse,
    private readonly config: client.Configuration,
  ) {}

  /** Starts the authorization request; returns the sign-in page. */
  async open(extra: Record<string, string> = {}): Promise<Page> {
    const url = client.buildAuthorizationUrl(this.config, {
      redirect_uri: CALLBACK,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(this.verifier),
      code_challenge_method: 'S256',
      state: this.state,
      nonce: this.nonce,
      ...extra,
    });
    return this.page(await this.ua.follow(url.toString(), this.gh.issuer));
  }

  private page(step: { res: Response; url: string; html?: string }): Page {
    return { res: step.res, url: step.url, html: step.html ?? '' };
  }

  /** Submits the page's first form (or the one whose action contains `actionPart`) with its CSRF token. */
  async submit(page: Page, fields: Record<string, string>, actionPart?: string): Promise<Page> {
    const actions = [...page.html.matchAll(/<form[^>]*action="([^"]+)"[\s\S]*?name="csrf" value="([^"]*)"/g)];
    const found = actionPart ? actions.find((m) => decode(m[1]!).includes(actionPart)) : undefined;
    const action = found ? decode(found[1]!) : formAction(page.html);
    const csrf = found ? found[2]! : hiddenField(page.html, 'csrf');
    const base = this.postBase ?? this.gh.issuer;
    const step = await this.ua.follow(new URL(action, base).toString(), base, { form: { csrf, ...fields } });
    // Another instance finished the interaction: the provider sends the browser on to the issuer's URLs.
    if (step.url.startsWith(this.gh.issuer) && step.res.status >= 300 && step.res.status < 400)
      return this.page(await this.ua.follow(step.url, this.gh.issuer));
    return this.page(step);
  }

  async get(href: string): Promise<Page> {
    return this.page(await this.ua.follow(new URL(decode(href), this.gh.issuer).toString(), this.gh.issuer));
  }

  async password(user: { email: string; password: string }): Promise<Page> {
    const login = await this.open();
    assert.match(login.html, /name="password"/, `sign-in page expected at ${login.url}`);
    return this.submit(login, { email: user.email, password: user.password });
  }

  /** Allows consent if asked and redeems the code; returns the tokens. */
  async finish(page: Page) {
    let step = page;
    if (step.html.includes('name="decision"')) step = await this.submit(step, { decision: 'allow' });
    assert.ok(
      step.url.startsWith(CALLBACK),
      `callback expected, got ${step.res.status} ${step.url} ${step.html.slice(0, 400)}`,
    );
    return client.authorizationCodeGrant(this.config, new URL(step.url), {
      pkceCodeVerifier: this.verifier,
      expectedState: this.state,
      expectedNonce: this.nonce,
      idTokenExpected: true,
    });
  }
}

/** A link's href by its text. */
export function linkTo(html: string, text: string): string {
  const m = new RegExp(`<a[^>]*href="([^"]+)"[^>]*>${text}</a>`).exec(html);
  assert.ok(m, `no link "${text}"`);
  return m[1]!;
}

/** The setup key shown on the enrol page (spaces removed), read from the element labelled "Setup key". */
export function setupKeyOf(html: string): string {
  const m = /aria-label="Setup key"[^>]*>([\s\S]*?)<\/(?:figure|p|div|span)>/.exec(html);
  assert.ok(m, 'no element labelled "Setup key"');
  return decode(m[1]!.replace(/<[^>]+>/g, '')).replace(/\s+/g, '');
}

/** The codes in the list labelled "Recovery codes". */
export function recoveryCodesOf(html: string): string[] {
  const list = /<ul[^>]*aria-label="Recovery codes"[^>]*>([\s\S]*?)<\/ul>/.exec(html);
  assert.ok(list, 'no list labelled "Recovery codes"');
  return [...list[1]!.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => decode(m[1]!));
}

/**
 * Password, then (MFA required, nothing enrolled) the authenticator app set up from the
 * enrol page; stops on the recovery codes page. Returns the secret read from the page and the code used.
 */
export async function enrolTotp(signIn: SignIn, user: { email: string; password: string }) {
  const choice = await signIn.password(user);
  assert.equal(choice.res.status, 200);
  const enrol = await signIn.get(linkTo(choice.html, 'Set up authenticator app'));
  assert.equal(enrol.res.status, 200, enrol.html.slice(0, 300));
  const secret = setupKeyOf(enrol.html);
  const code = await appCode(secret);
  const codes = await signIn.submit(enrol, { code });
  return { enrol, secret, code, codes };
}
