import type { AttemptCounter } from './sign-in-throttle.js';

/** 5 wrong second factors per account per 15 minutes: a 6-digit code then has ~1 in 13,000 odds per window. */
export const SECOND_FACTOR_FAILURES = 5;
export const SECOND_FACTOR_WINDOW_SECONDS = 15 * 60;

export type SecondFactorVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Wrong second factors (TOTP, recovery code, passkey after a password) per account, counted in
 * shared storage so that spreading guesses over instances or addresses does not help. Checked
 * before a code is verified; only failures count. `clock` returns epoch milliseconds.
 */
export class SecondFactorLimiter {
  constructor(
    private readonly counter: AttemptCounter,
    private readonly limit = SECOND_FACTOR_FAILURES,
    private readonly windowSeconds = SECOND_FACTOR_WINDOW_SECONDS,
    private readonly clock: () => number = Date.now,
  ) {}

  private window(now: number) {
    const nowSeconds = Math.floor(now / 1000);
    const start = nowSeconds - (nowSeconds % this.windowSeconds);
    return { start, retryAfterSeconds: Math.max(1, start + this.windowSeconds - nowSeconds) };
  }

  async check(accountId: string): Promise<SecondFactorVerdict> {
    const w = this.window(this.clock());
    const failures = await this.counter.count(`mfa:${accountId}`, w.start);
    return failures >= this.limit ? { allowed: false, retryAfterSeconds: w.retryAfterSeconds } : { allowed: true };
  }

  /** Counts one failure; the verdict says whether the next attempt is still allowed. */
  async failed(accountId: string): Promise<SecondFactorVerdict> {
    const w = this.window(this.clock());
    const failures = await this.counter.hit(`mfa:${accountId}`, w.start, this.windowSeconds);
    return failures >= this.limit ? { allowed: false, retryAfterSeconds: w.retryAfterSeconds } : { allowed: true };
  }
}
