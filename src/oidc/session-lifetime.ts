import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

const { Check } = interactionPolicy;

/**
 * Browser session lifetimes (SESSION_TTL_SECONDS, SESSION_IDLE_TTL_SECONDS).
 *
 * oidc-provider slides a session: every request through /authorize (interactive or
 * `prompt=none`), /logout or /device saves it again with `ttl.Session` from now. Gatehouse keeps
 * that save as the idle clock and caps it at the absolute end, so each save stores
 * `exp = min(now + idle, loginTs + absolute)`:
 * - a session not used for `idle` seconds expires in storage (the adapter's expiry);
 * - a session used constantly (silent sign-ins every minute) still ends `absolute` seconds after
 *   the person signed in; only a new interactive sign-in (a new `loginTs`) starts a new period.
 * The provider appends `Expires` = that `exp` to a persistent ("Stay signed in") session cookie,
 * so the cookie never outlives the session; a transient session's cookie has no Expires/Max-Age.
 *
 * Sessions saved before this rule (with a longer expiry) are held to it by `sessionEndedCheck`
 * (the login prompt) and by the account page's `current` session.
 */
export interface SessionLifetime {
  /** From sign-in; nothing extends it. */
  absoluteSeconds: number;
  /** Since the session was last used. */
  idleSeconds: number;
}

/** True when a session signed in at `loginTs` has reached its absolute end at `now` (epoch seconds). */
export function sessionEnded(loginTs: number | undefined, now: number, absoluteSeconds: number): boolean {
  return typeof loginTs === 'number' && now >= loginTs + absoluteSeconds;
}

/**
 * Seconds to keep a session saved at `now`: the idle period, cut at the absolute end. At least
 * one (the provider refuses 0): a session saved at its very end lives on for that second, and
 * `sessionEndedCheck` answers its sign-in requests with a new sign-in.
 */
export function sessionExpiresIn(loginTs: number | undefined, now: number, lifetime: SessionLifetime): number {
  // No one signed in (e.g. after logout): only the idle period applies.
  if (typeof loginTs !== 'number') return lifetime.idleSeconds;
  const remaining = loginTs + lifetime.absoluteSeconds - now;
  return Math.max(1, Math.min(lifetime.idleSeconds, remaining));
}

/** The login prompt's reason when the session reached its absolute end. */
export const SESSION_ENDED = 'session_ended';

const epoch = () => Math.floor(Date.now() / 1000);

/**
 * Login prompt check: a session past its absolute end asks for a new sign-in
 * (`login_required` with `prompt=none`) even if its stored expiry is later.
 */
export function sessionEndedCheck(absoluteSeconds: number): InstanceType<typeof Check> {
  const description = 'the session has reached its maximum lifetime';
  return new Check(SESSION_ENDED, description, 'login_required', (ctx: KoaContextWithOIDC) => {
    const session = ctx.oidc.session;
    if (!session?.accountId || !sessionEnded(session.loginTs, epoch(), absoluteSeconds)) return Check.NO_NEED_TO_PROMPT;
    return Check.REQUEST_PROMPT;
  });
}

type SavedSession = { loginTs?: number | undefined; transient?: boolean | undefined };

/**
 * oidc-provider's `loginAccount` marks a session transient for a sign-in with `remember: false`
 * but never clears the mark: a browser that signed in without "Stay signed in" and later with it
 * would keep a browser-session cookie. The save that follows a sign-in (the only hook between the
 * two) clears it; a sign-in that leaves `remember` out (a step-up) keeps the earlier choice.
 */
function applyStaySignedIn(ctx: KoaContextWithOIDC, session: SavedSession): void {
  const login = (ctx.oidc.result as { login?: { remember?: unknown } } | undefined)?.login;
  if (login?.remember === true && session.transient) session.transient = undefined;
}

/** `ttl.Session` for oidc-provider: the stored expiry of each save (and the cookie's Expires). */
export function sessionTtl(lifetime: SessionLifetime) {
  return (ctx: KoaContextWithOIDC, session: SavedSession) => {
    applyStaySignedIn(ctx, session);
    return sessionExpiresIn(session.loginTs, epoch(), lifetime);
  };
}

/** Adds `sessionEndedCheck` to the login prompt of `policy`. */
export function withSessionLifetime(policy: interactionPolicy.Prompt[], absoluteSeconds: number) {
  policy.find((p) => p.name === 'login')!.checks.add(sessionEndedCheck(absoluteSeconds));
  return policy;
}
