import type { AttemptCounter, ThrottleVerdict } from '../domain/authn/sign-in-throttle.js';
import type { SendKind, SendLimiter } from '../domain/mail/send-limiter.js';
import { createHash } from 'node:crypto';

export const SEND_LIMIT_WINDOW_SECONDS = 3600;
const WINDOW_SECONDS = SEND_LIMIT_WINDOW_SECONDS;
/** Per address per hour: enough for a person who lost a mail or two, too few to bomb an inbox. */
const PER_ADDRESS = 5;
/** Per client address per hour, across all addresses. */
const PER_CLIENT = 20;

/** Hourly windows on the shared attempt counters (Redis, or SQL when embedded). */
export class CounterSendLimiter implements SendLimiter {
  constructor(
    private readonly counter: AttemptCounter,
    private readonly clock: () => number = Date.now,
  ) {}

  async consume(kind: SendKind, email: string, clientAddress: string): Promise<ThrottleVerdict> {
    const now = Math.floor(this.clock() / 1000);
    const windowStart = now - (now % WINDOW_SECONDS);
    const emailKey = createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
    const [byAddress, byClient] = await Promise.all([
      this.counter.hit(`send:${kind}:${emailKey}`, windowStart, WINDOW_SECONDS),
      this.counter.hit(`send:${kind}:ip:${clientAddress || 'unknown'}`, windowStart, WINDOW_SECONDS),
    ]);
    if (byAddress <= PER_ADDRESS && byClient <= PER_CLIENT) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, windowStart + WINDOW_SECONDS - now) };
  }
}
