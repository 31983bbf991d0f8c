/** Storage port: counts hits of a key within a fixed window shared by every instance. */
export interface AttemptCounter {
  /** Adds one hit to `key` in the window starting at `windowStart` (epoch s); returns the window's count. */
  hit(key: string, windowStart: number, windowSeconds: number): Promise<number>;
  /** The window's count without adding to it. */
  count(key: string, windowStart: number): Promise<number>;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const WINDOW_SECONDS = 60;
/** Addresses remembered as over the limit per instance; beyond this the memory is cleared (a flood of addresses). */
const REFUSED_MEMORY_MAX = 10_000;

/**
 * Sign-in attempts (password, registration) per client address per minute, counted in shared
 * storage so a flood spread over instances is seen whole. Checked before any password hashing,
 * so attempts beyond the limit cost one counter increment and get 429 at once — the hashing
 * capacity stays with everyone else. `limitPerMinute` 0 turns it off.
 */
export class SignInThrottle {
  /**
   * Addresses this instance already saw over the limit, with the end of their window (epoch s):
   * further attempts in that window are refused without a storage round trip, so a flood from
   * one address costs a map lookup. Another instance still counts its own attempts in storage.
   */
  readonly #refusedUntil = new Map<string, number>();

  /** `clock` returns epoch milliseconds; tests pass a fake one to cross window boundaries exactly. */
  constructor(
    private readonly counter: AttemptCounter,
    private readonly limitPerMinute: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async check(clientAddress: string, now = this.clock()): Promise<ThrottleVerdict> {
    if (this.limitPerMinute <= 0) return { allowed: true };
    const nowSeconds = Math.floor(now / 1000);
    const address = clientAddress || 'unknown';
    const refusedUntil = this.#refusedUntil.get(address);
    if (refusedUntil !== undefined) {
      if (nowSeconds < refusedUntil)
        return { allowed: false, retryAfterSeconds: Math.max(1, refusedUntil - nowSeconds) };
      this.#refusedUntil.delete(address);
    }
    const windowStart = nowSeconds - (nowSeconds % WINDOW_SECONDS);
    const count = await this.counter.hit(`signin:${address}`, windowStart, WINDOW_SECONDS);
    if (count <= this.limitPerMinute) return { allowed: true };
    if (this.#refusedUntil.size >= REFUSED_MEMORY_MAX) this.#refusedUntil.clear();
    this.#refusedUntil.set(address, windowStart + WINDOW_SECONDS);
    return { allowed: false, retryAfterSeconds: Math.max(1, windowStart + WINDOW_SECONDS - nowSeconds) };
  }
}
