import { createHash } from 'node:crypto';
import type { DomainEvents, EventSubscriber } from '../events/domain-events.js';
import type { Mailer } from '../mail/mail.js';

/**
 * Per-account password limits (NIST SP 800-63B-4 §3.2.2), keyed by the normalised email so that
 * unknown emails are counted exactly like accounts (the limit never tells which exist):
 * - after SLOW_DOWN_AFTER consecutive failures each further attempt waits 2^(n−5) s, at most
 *   MAX_DELAY_SECONDS; an attempt inside the wait is refused before any password is hashed;
 * - after ACCOUNT_LOCKOUT_THRESHOLD consecutive failures the password method is locked until a
 *   password reset or an admin unlock (stored as `locked_until` = HARD_LOCK_UNTIL).
 * Only passwords are limited: passkeys, email codes and the reset flow keep working, so a lock
 * is no denial of service. A success clears the count (consecutive failures only).
 */

/** Failures that cost nothing: a person mistyping a few times never waits. */
export const SLOW_DOWN_AFTER = 5;
/** The longest wait between attempts: 15 minutes (the delay doubles up to it from the 15th failure). */
export const MAX_DELAY_SECONDS = 15 * 60;
/**
 * `locked_until` of a hard lock: "until a reset or an admin unlock". A real timestamp (not
 * PostgreSQL's `infinity`) so that every driver and PGlite read it alike.
 */
export const HARD_LOCK_UNTIL = new Date('9999-12-31T23:59:59.000Z');

/** trim + NFC + lower case, then sha256: the table names no addresses. */
export function emailKey(email: string): string {
  return createHash('sha256').update(email.trim().normalize('NFC').toLowerCase()).digest('hex');
}

/** Seconds to wait after `failures` consecutive failures (0: the next attempt may come at once). */
export function delaySeconds(failures: number): number {
  if (failures < SLOW_DOWN_AFTER) return 0;
  return Math.min(2 ** (failures - SLOW_DOWN_AFTER), MAX_DELAY_SECONDS);
}

/** The delay schedule the storage applies in its one-statement upsert, and the threshold. */
export interface LockSchedule {
  threshold: number;
  /** `delays[n - 1]`: seconds to wait after n consecutive failures, for n below the threshold. */
  delays: number[];
  hardLockUntil: Date;
}

export function lockSchedule(threshold: number): LockSchedule {
  return {
    threshold,
    delays: Array.from({ length: threshold }, (_, i) => delaySeconds(i + 1)),
    hardLockUntil: HARD_LOCK_UNTIL,
  };
}

export interface LockoutRecord {
  failedAttempts: number;
  lockedUntil: Date | null;
  updatedAt: Date;
}

/** Storage port (SQL on both backends: durable, shared by every instance, survives a Redis restart). */
export interface AccountLockoutRepository {
  find(key: string): Promise<LockoutRecord | undefined>;
  /**
   * Counts one attempt in advance, as a failure, unless the key is held at `now` — in one atomic
   * conditional upsert that also sets `locked_until` from `schedule` for the new count. Concurrent
   * attempts (other instances included) are serialised by the row: each sees the previous one's
   * wait. `counted` false: held, nothing written, `record` is the holding row.
   */
  reserve(key: string, now: Date, schedule: LockSchedule): Promise<{ counted: boolean; record: LockoutRecord }>;
  /** Removes the row; returns what it held (undefined when there was none). */
  clear(key: string): Promise<LockoutRecord | undefined>;
  /** Deletes rows not updated since `olderThan`, except hard locks (they wait for a reset). */
  sweep(olderThan: Date, hardLockUntil: Date): Promise<number>;
}

export type LockoutVerdict =
  /** `failedAttempts`: the consecutive count with this attempt counted as a failure in advance. */
  { allowed: true; failedAttempts: number } | { allowed: false; retryAfterSeconds: number; hardLocked: boolean };

/** What the admin API shows for an account. */
export interface LockoutStatus {
  failedAttempts: number;
  /** Null when password sign-in is not held now (an expired wait counts as none). */
  lockedUntil: Date | null;
  hardLocked: boolean;
}

/** Retry-After of a hard lock, which has no end: "not soon" (the longest wait), never a promise. */
const HARD_LOCK_RETRY_AFTER_SECONDS = MAX_DELAY_SECONDS;

export interface AccountLockoutOptions {
  /** ACCOUNT_LOCKOUT_THRESHOLD. */
  threshold: number;
  /** Epoch ms; tests move it to skip waits. @default Date.now */
  now?: () => number;
}

export class AccountLockout {
  readonly #schedule: LockSchedule;
  readonly #now: () => number;

  constructor(
    private readonly repo: AccountLockoutRepository,
    options: AccountLockoutOptions,
    private readonly notify: { mailer: Mailer; events: DomainEvents; accountEmail: (id: string) => Promise<string> },
  ) {
    this.#schedule = lockSchedule(options.threshold);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Before the password is hashed: may this attempt go ahead? An allowed attempt is counted as a
   * failure at once (and the next attempt's wait set), so that a burst of concurrent guesses
   * cannot all pass one check; `succeeded` takes it back.
   */
  async attempt(email: string): Promise<LockoutVerdict> {
    const now = this.#now();
    const { counted, record } = await this.repo.reserve(emailKey(email), new Date(now), this.#schedule);
    if (counted) return { allowed: true, failedAttempts: record.failedAttempts };
    return verdictOf(record, now);
  }

  /**
   * The attempt failed (a wrong password, an unknown email): it is already counted. The attempt
   * that reached the threshold emails the owner and emits `account.locked`, exactly once.
   */
  async failed(attempt: LockoutVerdict, accountId?: string): Promise<void> {
    if (!attempt.allowed || attempt.failedAttempts !== this.#schedule.threshold || !accountId) return;
    this.notify.events.emit({ type: 'account.locked', accountId, failedAttempts: attempt.failedAttempts });
    const to = await this.notify.accountEmail(accountId);
    await this.notify.mailer.send(to, 'account-locked', { resetLink: this.notify.mailer.link('/forgot-password') });
  }

  /** A correct password: the consecutive count (this attempt included) starts again. */
  async succeeded(email: string): Promise<void> {
    await this.repo.clear(emailKey(email));
  }

  /** Reset or admin unlock: clears the count and any lock; says whether password sign-in was held. */
  async unlock(email: string): Promise<boolean> {
    const row = await this.repo.clear(emailKey(email));
    return row !== undefined && !verdictOf(row, this.#now()).allowed;
  }

  async status(email: string): Promise<LockoutStatus> {
    const row = await this.repo.find(emailKey(email));
    const held = row?.lockedUntil && row.lockedUntil.getTime() > this.#now() ? row.lockedUntil : null;
    return {
      failedAttempts: row?.failedAttempts ?? 0,
      lockedUntil: held,
      hardLocked: held !== null && held.getTime() >= HARD_LOCK_UNTIL.getTime(),
    };
  }

  /** Rows untouched for `maxAgeSeconds` are forgotten (a person's typos of last month); hard locks stay. */
  sweep(maxAgeSeconds: number): Promise<number> {
    return this.repo.sweep(new Date(this.#now() - maxAgeSeconds * 1000), HARD_LOCK_UNTIL);
  }

  /**
   * A successful password reset unlocks (the reset flow emits `password.reset`): the count is
   * cleared, and `account.unlocked` {by: 'reset'} is emitted when password sign-in was held.
   */
  resetSubscriber(onError: (err: unknown) => void): EventSubscriber {
    return (event, origin) => {
      if (event.type !== 'password.reset') return;
      const { accountId } = event;
      this.notify
        .accountEmail(accountId)
        .then((email) => this.unlock(email))
        .then((wasLocked) => {
          if (wasLocked) this.notify.events.emit({ type: 'account.unlocked', accountId, by: 'reset' }, origin);
        })
        .catch(onError);
    };
  }
}

function verdictOf(row: LockoutRecord | undefined, now: number): LockoutVerdict {
  const until = row?.lockedUntil?.getTime();
  if (until === undefined || until <= now) return { allowed: true, failedAttempts: row?.failedAttempts ?? 0 };
  const hardLocked = until >= HARD_LOCK_UNTIL.getTime();
  return {
    allowed: false,
    hardLocked,
    retryAfterSeconds: hardLocked ? HARD_LOCK_RETRY_AFTER_SECONDS : Math.max(1, Math.ceil((until - now) / 1000)),
  };
}
