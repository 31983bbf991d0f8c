import type { Knex } from 'knex';

// Each audit event carries a key made when it is recorded, so a batch written again after a
// commit that was not acknowledged (a query timeout, a lost connection) stores every event once.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table audit_events add column event_key uuid');
  await knex.raw('create unique index audit_events_event_key_idx on audit_events (event_key)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists audit_events_event_key_idx');
  await knex.raw('alter table audit_events drop column if exists event_key');
}
