import { type RateLimiterAbstract, RateLimiterPostgres, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ThrottleVerdict } from '../domain/authn/sign-in-throttle.js';
import { emailKey } from '../domain/authn/account-lockout.js';
import type { SendKind, SendLimiter } from '../domain/mail/send-limiter.js';
import type { Knex } from 'knex';
import type { Database } from './database.js';
import type { Redis } from './redis.js';

export const SEND_LIMIT_WINDOW_SECONDS = 3600;
/** Per address per hour: enough for a person who lost a mail or two, too few to bomb an inbox. */
const PER_ADDRESS = 5;
/** Per client address per hour, across all addresses. */
const PER_CLIENT = 20;

/**
 * Sends per address (its normalised email's hash) and per client address, each kind counted on
 * its own, by rate-limiter-flexible over shared storage: Redis when configured, else SQL.
 */
export class RateLimitedSendLimiter implements SendLimiter {
  constructor(
    private readonly byAddress: RateLimiterAbstract,
    private readonly byClient: RateLimiterAbstract,
  ) {}

  async consume(kind: SendKind, email: string, clientAddress: string): Promise<ThrottleVerdict> {
    const results = await Promise.allSettled([
      this.byAddress.consume(`${kind}:${emailKey(email)}`),
      this.byClient.consume(`${kind}:${clientAddress || 'unknown'}`),
    ]);
    let waitMs = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      // The library rejects with its verdict when over the limit, and with the error when storage fails.
      if (!(r.reason instanceof RateLimiterRes)) throw r.reason;
      waitMs = Math.max(waitMs, r.reason.msBeforeNext);
    }
    return waitMs > 0 || results.some((r) => r.status === 'rejected')
      ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
      : { allowed: true };
  }
}

/** Redis (ioredis through our classifying proxy): the library's atomic Lua increment with a TTL. */
export function redisSendLimiter(redis: Redis, prefix: string): RateLimitedSendLimiter {
  const limiter = (name: string, points: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      useRedisPackage: false,
      keyPrefix: `${prefix}send:${name}`,
      points,
      duration: SEND_LIMIT_WINDOW_SECONDS,
    });
  return new RateLimitedSendLimiter(limiter('address', PER_ADDRESS), limiter('client', PER_CLIENT));
}

/** SQL (PostgreSQL or PGlite): the library's Postgres statements on our knex (table `rate_limits`, migration 014). */
export function sqlSendLimiter(database: Database): RateLimitedSendLimiter {
  const limiter = (name: string, points: number) =>
    new KnexRateLimiter(database, { keyPrefix: `send:${name}`, points, duration: SEND_LIMIT_WINDOW_SECONDS });
  return new RateLimitedSendLimiter(limiter('address', PER_ADDRESS), limiter('client', PER_CLIENT));
}

/** Deletes expired windows of the SQL store (the sweeper calls it; the library's own timer is off). */
export async function sweepRateLimits(database: Database, now = Date.now()): Promise<void> {
  await database.db()('rate_limits').where('expire', '<', now).delete();
}

/**
 * RateLimiterPostgres with `storeType: 'knex'` takes a raw driver connection and calls
 * `conn.query({ text, values, name })`: pg's API, which PGlite's `query(sql, params)` rejects;
 * on pg it would also bypass our knex client's error classification and query timeout. So this
 * keeps the library's SQL and limiter logic and sends each statement through `knex.raw`:
 * `$n` placeholders become positional `?` bindings (a number may appear twice), and the result
 * is given the shape the library reads (`rows`, `rowCount`, `expire` as a number).
 */
class KnexRateLimiter extends RateLimiterPostgres {
  readonly #database: Database;

  constructor(database: Database, opts: { keyPrefix: string; points: number; duration: number }) {
    super({
      ...opts,
      storeClient: database.db(),
      storeType: 'knex',
      tableName: 'rate_limits',
      tableCreated: true,
      clearExpiredByTimeout: false,
    } as ConstructorParameters<typeof RateLimiterPostgres>[0]);
    this.#database = database;
  }

  async _query(q: { text: string; values?: unknown[] }): Promise<{ rows: unknown[]; rowCount: number }> {
    const bindings: Knex.RawBinding[] = [];
    const sql = q.text.replace(/\$(\d+)/g, (_, n: string) => {
      bindings.push((q.values?.[Number(n) - 1] ?? null) as Knex.RawBinding);
      return '?';
    });
    const result = (await this.#database.db().raw(sql, bindings)) as {
      rows?: Record<string, unknown>[];
      rowCount?: number | null;
    };
    const rows = (result.rows ?? []).map((row) =>
      row.expire === undefined || row.expire === null ? row : { ...row, expire: Number(row.expire) },
    );
    return { rows, rowCount: rows.length || Number(result.rowCount ?? 0) };
  }
}
