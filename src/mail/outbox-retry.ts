/**
 * When a message whose send failed is tried again: exponential backoff with jitter, pure functions
 * of the attempt count, the message's age and an injected clock and random source.
 */
export interface RetryPolicy {
  /** Delay after the first failure (before jitter). @default 5000 (5 s) */
  baseDelayMs: number;
  /** The delay doubles per attempt up to this. @default 600000 (10 min) */
  maxDelayMs: number;
  /**
   * A message not delivered this long after it was queued is given up (status `failed`): its
   * links have expired by then (the longest lives 24 h), and a late "your sign-in code" only
   * confuses. With the defaults that is one try every 5–10 min, some 300–550 tries. @default 172800000 (48 h)
   */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 5_000,
  maxDelayMs: 10 * 60_000,
  giveUpAfterMs: 48 * 3600_000,
};

/**
 * The delay after `attempts` failed tries (1 = the first failure): base × 2^(attempts−1), capped,
 * then "equal jitter" — a random point in the upper half — so instances that failed together
 * (an SMTP outage) do not all come back in the same second, yet the delay still grows.
 */
export function retryDelayMs(attempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempts, 1) - 1, 30);
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/** When to try again, or undefined to give up (the message becomes `failed`). */
export function nextAttemptAt(
  message: { attempts: number; createdAt: Date },
  policy: RetryPolicy,
  now: number,
  random: () => number = Math.random,
): Date | undefined {
  const at = now + retryDelayMs(message.attempts, policy, random);
  return isExpired(message, policy, at) ? undefined : new Date(at);
}

/** Too old to be worth sending (queued while SMTP was unset, or failing since before the cut-off). */
export function isExpired(message: { createdAt: Date }, policy: RetryPolicy, now: number): boolean {
  return now - message.createdAt.getTime() >= policy.giveUpAfterMs;
}
