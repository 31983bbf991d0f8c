import type { OneTimeValues } from '../domain/authn/one-time-values.js';
import { affectedRows } from './affected-rows.js';
import type { Database } from './database.js';
import type { Redis } from './redis.js';

/** Redis: SET with EX, taken with GETDEL (one atomic command: two instances never both get it). */
export class RedisOneTimeValues implements OneTimeValues {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async put(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.redis.set(`${this.prefix}once:${key}`, JSON.stringify(value), 'EX', Math.max(1, ttlSeconds));
  }

  async putIfAbsent(key: string, value: unknown, ttlSeconds: number): Promise<boolean> {
    const set = await this.redis.set(
      `${this.prefix}once:${key}`,
      JSON.stringify(value),
      'EX',
      Math.max(1, ttlSeconds),
      'NX',
    );
    return set === 'OK';
  }

  async take<T>(key: string): Promise<T | undefined> {
    const raw = await this.redis.getdel(`${this.prefix}once:${key}`);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  async peek<T>(key: string): Promise<T | undefined> {
    const raw = await this.redis.get(`${this.prefix}once:${key}`);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }
}

/** SQL (no Redis, or embedded): `delete … returning` takes a row at most once; expired rows are swept. */
export class SqlOneTimeValues implements OneTimeValues {
  constructor(private readonly database: Database) {}

  async put(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.database
      .db()('one_time_values')
      .insert({
        key,
        value: JSON.stringify({ v: value }),
        expires_at: new Date(Date.now() + Math.max(1, ttlSeconds) * 1000),
      })
      .onConflict('key')
      .merge(['value', 'expires_at']);
  }

  async putIfAbsent(key: string, value: unknown, ttlSeconds: number): Promise<boolean> {
    // An expired row still in the table (not yet swept) is taken over; a live one wins.
    const result = await this.database.db().raw(
      `insert into one_time_values (key, value, expires_at) values (?, ?, ?)
       on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at
       where one_time_values.expires_at <= now()
       returning key`,
      [key, JSON.stringify({ v: value }), new Date(Date.now() + Math.max(1, ttlSeconds) * 1000)],
    );
    return (result as { rows: unknown[] }).rows.length === 1;
  }

  async take<T>(key: string): Promise<T | undefined> {
    const result = await this.database
      .db()
      .raw('delete from one_time_values where key = ? and expires_at > now() returning value', [key]);
    const row = (result as { rows: Array<{ value: unknown }> }).rows[0];
    return row ? (parseValue(row.value) as T) : undefined;
  }

  async peek<T>(key: string): Promise<T | undefined> {
    const row = (await this.database
      .db()('one_time_values')
      .where({ key })
      .andWhere('expires_at', '>', new Date())
      .first('value')) as { value: unknown } | undefined;
    return row ? (parseValue(row.value) as T) : undefined;
  }

  static async sweep(database: Database, now: Date): Promise<number> {
    return affectedRows(await database.db()('one_time_values').where('expires_at', '<=', now).delete());
  }
}

/** Stored wrapped as `{ v }`, so a plain string value is not mistaken for serialised JSON on the way back. */
const parseValue = (value: unknown) => ((typeof value === 'string' ? JSON.parse(value) : value) as { v: unknown }).v;
