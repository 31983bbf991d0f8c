import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from '../../../oidc/account-client.js';
import { ROUTES } from '../../../oidc/provider.js';
import type { CsrfTokens } from '../interactions/csrf.js';

/** How long a sign-in started from the account page may take before its callback is refused. */
const PENDING_SIGN_IN_SECONDS = 15 * 60;

/** The account page's GET pages: the only places a sign-in may return to. */
const RETURN_TO = /^\/account(\/enrol\/(totp|passkey)|\/password|\/email|\/delete)?$/;

export const safeReturnTo = (value: unknown): string =>
  typeof value === 'string' && RETURN_TO.test(value) ? value : '/account';

/** A sign-in the account page started, kept in a short cookie until its callback. */
export interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
  /** Epoch seconds after which the callback is refused. */
  exp: number;
}

const random = () => randomBytes(32).toString('base64url');

/**
 * The account page's side of the sign-in (an OAuth client of the provider, like any other):
 * `start` sends the browser to /authorize with state and PKCE S256, keeping both in an
 * httpOnly cookie MACed with the server key (so its return path cannot be changed); `take`
 * reads that cookie once on the callback and clears it.
 */
export class AccountSignIn {
  readonly #cookie: string;
  readonly #secure: boolean;

  constructor(
    private readonly issuer: string,
    private readonly mac: CsrfTokens,
    private readonly now: () => number,
  ) {
    this.#secure = new URL(issuer).protocol === 'https:';
    // `__Host-` needs Path=/; this cookie is only for /account, so it takes the Secure prefix.
    this.#cookie = this.#secure ? '__Secure-account_sign_in' : 'account_sign_in';
  }

  /** Sends the browser to sign in; `reauth` asks the provider for a fresh sign-in even with a session. */
  start(ctx: Context, options: { returnTo: string; reauth?: boolean; loginHint?: string }): void {
    const pending: PendingSignIn = {
      state: random(),
      verifier: random(),
      returnTo: safeReturnTo(options.returnTo),
      exp: Math.floor(this.now() / 1000) + PENDING_SIGN_IN_SECONDS,
    };
    const payload = Buffer.from(JSON.stringify(pending)).toString('base64url');
    ctx.cookies.set(this.#cookie, `${payload}.${this.mac.issue(payload, 'account-sign-in')}`, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#secure,
      path: '/account',
      maxAge: PENDING_SIGN_IN_SECONDS * 1000,
      overwrite: true,
    });
    const params = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'code',
      redirect_uri: accountCallbackUrl(this.issuer),
      scope: 'openid',
      state: pending.state,
      code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    if (options.reauth) params.set('prompt', 'login');
    if (options.loginHint) params.set('login_hint', options.loginHint);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${ROUTES.authorization}?${params}`);
  }

  /** The pending sign-in of this browser, once: the cookie is cleared whatever it held. */
  take(ctx: Context): PendingSignIn | undefined {
    const raw = ctx.cookies.get(this.#cookie);
    ctx.cookies.set(this.#cookie, null, { path: '/account', secure: this.#secure, httpOnly: true, overwrite: true });
    if (!raw) return undefined;
    const dot = raw.lastIndexOf('.');
    const payload = raw.slice(0, dot);
    if (dot < 1 || !this.mac.valid(payload, 'account-sign-in', raw.slice(dot + 1))) return undefined;
    try {
      const pending = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as PendingSignIn;
      if (typeof pending.exp !== 'number' || pending.exp < this.now() / 1000) return undefined;
      return { ...pending, returnTo: safeReturnTo(pending.returnTo) };
    } catch {
      return undefined;
    }
  }
}
