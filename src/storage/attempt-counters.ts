import type { AttemptCounter } from '../domain/authn/sign-in-throttle.js';
import { StorageUnavailable } from '../domain/errors.js';
import type { Database } from './database.js';
import type { Redis } from './redis.js';
import { classifyStorageError, withStorageErrors } from './storage-errors.js';

/** Redis: INCR on a key per window, expiring with it (one round trip, pipelined). */
export class RedisAttemptCounter implements AttemptCounter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, windowStart: number, windowSeconds: number): Promise<number> {
    const k = `${this.prefix}attempts:{${key}}:${windowStart}`;
    const replies = await withStorageErrors(() =>
      this.redis
        .multi()
        .incr(k)
        .expire(k, windowSeconds + 5)
        .exec(),
    );
    // A MULTI discarded by a dropped connection answers null; a command's own failure is in its reply.
    if (!replies) throw new StorageUnavailable();
    const [[incrErr, count], [expireErr]] = replies as [[Error | null, unknown], [Error | null, unknown]];
    if (incrErr || expireErr) throw classifyStorageError(incrErr ?? expireErr);
    return Number(count);
  }

  async count(key: string, windowStart: number): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}attempts:{${key}}:${windowStart}`)) ?? 0);
  }
}

/** SQL (no Redis, or embedded): one upsert per hit; old windows are removed by the sweeper. */
export class SqlAttemptCounter implements AttemptCounter {
  constructor(private readonly database: Database) {}

  async hit(key: string, windowStart: number): Promise<number> {
    const result = await this.database.db().raw(
      `insert into attempt_counters (key, window_start, count) values (?, ?, 1)
       on conflict (key, window_start) do update set count = attempt_counters.count + 1
       returning count`,
      [key, windowStart],
    );
    return Number((result as { rows: { count: number }[] }).rows[0]!.count);
  }

  async count(key: string, windowStart: number): Promise<number> {
    const row = (await this.database
      .db()('attempt_counters')
      .where({ key, window_start: windowStart })
      .first('count')) as { count: number } | undefined;
    return Number(row?.count ?? 0);
  }

  /** Deletes windows started before `olderThan` (epoch s); callers keep the longest window they use. */
  static async sweep(database: Database, olderThan: number): Promise<void> {
    await database.db()('attempt_counters').where('window_start', '<', olderThan).delete();
  }
}
