import type { AccountLockoutRepository, LockoutRecord, LockSchedule } from '../../domain/authn/account-lockout.js';
import type { Database } from '../database.js';

const TABLE = 'account_lockouts';

interface Row {
  failed_attempts: number | string;
  locked_until: Date | string | null;
  updated_at: Date | string;
}

const toRecord = (r: Row): LockoutRecord => ({
  failedAttempts: Number(r.failed_attempts),
  lockedUntil: r.locked_until ? new Date(r.locked_until) : null,
  updatedAt: new Date(r.updated_at),
});

const EMPTY = { failedAttempts: 0, lockedUntil: null };

/** What `raw` answers: pg's result and PGlite's both carry `rows`. */
const rowsOf = (result: unknown) => (result as { rows: Row[] }).rows;

/**
 * `account_lockouts` (migration 013) on PostgreSQL / PGlite. Durable SQL on purpose, even when
 * Redis is configured: a Redis restart must not unlock accounts under attack.
 */
export class SqlAccountLockoutRepository implements AccountLockoutRepository {
  constructor(private readonly database: Database) {}

  async find(key: string): Promise<LockoutRecord | undefined> {
    const row = (await this.database
      .db()(TABLE)
      .where({ email_key: key })
      .first('failed_attempts', 'locked_until', 'updated_at')) as Row | undefined;
    return row && toRecord(row);
  }

  /**
   * One statement: unless the row is held at `now`, the count goes up by one whatever another
   * instance did meanwhile, and the new `locked_until` follows from the new count (the domain's
   * schedule, passed as an array literal so the schedule is written in one place). A held row is
   * left alone (the `where` of `do update`): no row comes back, and the holding row is read.
   */
  async reserve(key: string, now: Date, schedule: LockSchedule) {
    const delays = `{${schedule.delays.map((d) => Math.floor(d)).join(',')}}`;
    const first =
      schedule.threshold <= 1
        ? schedule.hardLockUntil
        : schedule.delays[0]
          ? new Date(now.getTime() + schedule.delays[0] * 1000)
          : null;
    // A row deleted between the upsert and the read (a success or an unlock elsewhere): try again.
    for (let tries = 0; ; tries++) {
      const result = await this.database.db().raw(
        `insert into account_lockouts as l (email_key, failed_attempts, locked_until, updated_at)
         values (?, 1, ?, ?)
         on conflict (email_key) do update set
           failed_attempts = l.failed_attempts + 1,
           locked_until = case
             when l.failed_attempts + 1 >= ? then ?::timestamptz
             when coalesce((?::int[])[l.failed_attempts + 1], 0) > 0
               then ?::timestamptz + (?::int[])[l.failed_attempts + 1] * interval '1 second'
             else null
           end,
           updated_at = excluded.updated_at
         where l.locked_until is null or l.locked_until <= excluded.updated_at
         returning failed_attempts, locked_until, updated_at`,
        [key, first, now, schedule.threshold, schedule.hardLockUntil, delays, now, delays],
      );
      const counted = rowsOf(result)[0];
      if (counted) return { counted: true, record: toRecord(counted) };
      const holding = await this.find(key);
      if (holding || tries >= 2) return { counted: false, record: holding ?? { ...EMPTY, updatedAt: now } };
    }
  }

  async clear(key: string): Promise<LockoutRecord | undefined> {
    const rows = (await this.database
      .db()(TABLE)
      .where({ email_key: key })
      .delete()
      .returning(['failed_attempts', 'locked_until', 'updated_at'])) as Row[];
    return rows[0] && toRecord(rows[0]);
  }

  async sweep(olderThan: Date, hardLockUntil: Date): Promise<number> {
    return this.database
      .db()(TABLE)
      .where('updated_at', '<', olderThan)
      .andWhere((q) => q.whereNull('locked_until').orWhere('locked_until', '<', hardLockUntil))
      .delete();
  }
}
