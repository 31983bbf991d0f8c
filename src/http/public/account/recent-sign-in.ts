/**
 * Changing how someone signs in (turning a factor on or off, new recovery codes) needs a recent
 * sign-in: a browser left signed in on a shared computer must not be enough to take over the
 * account. Five minutes, as the issue asks: long enough to set up an app right after signing
 * in, short enough that a walk-up attacker usually finds it expired.
 */
export const RECENT_SIGN_IN_SECONDS = 5 * 60;

/** True when the sign-in at `loginTs` (epoch seconds) is recent at `nowMs`. */
export function isRecentSignIn(loginTs: number, nowMs: number, maxAgeSeconds = RECENT_SIGN_IN_SECONDS): boolean {
  return nowMs / 1000 - loginTs <= maxAgeSeconds;
}
