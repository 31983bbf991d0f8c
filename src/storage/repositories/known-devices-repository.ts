import type { KnownDeviceRepository } from '../../domain/accounts/known-devices.js';
import type { Database } from '../database.js';

/**
 * `known_devices` (migration 013): one row per (account, device cookie hash). Rows go with their
 * user (on delete cascade). Shared by every instance, so a browser is new to all of them at once.
 */
export class SqlKnownDeviceRepository implements KnownDeviceRepository {
  constructor(private readonly database: Database) {}

  /**
   * One statement: the upsert says whether it inserted (`xmax = 0` on a fresh row), and the count
   * of the account's other devices is read in the same snapshot, before this row existed.
   */
  async record(userId: string, deviceHash: string, at: Date): Promise<{ isNew: boolean; others: number }> {
    const result = await this.database.db().raw(
      `with seen as (
         insert into known_devices (user_id, device_hash, first_seen_at, last_seen_at) values (?, ?, ?, ?)
         on conflict (user_id, device_hash) do update set last_seen_at = excluded.last_seen_at
         returning (xmax = 0) as inserted
       )
       select seen.inserted,
              (select count(*)::int from known_devices k where k.user_id = ? and k.device_hash <> ?) as others
         from seen`,
      [userId, deviceHash, at, at, userId, deviceHash],
    );
    const row = (result as { rows: Array<{ inserted: boolean; others: number }> }).rows[0];
    return { isNew: row?.inserted === true, others: Number(row?.others ?? 0) };
  }
}
