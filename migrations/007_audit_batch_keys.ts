import type { Knex } from 'knex';

// Idempotent audit writes at a lower cost than 006's key per event: the writer keys each batch,
// and only the batch's first row stores the key (a partial unique index with one entry per batch
// instead of one per event). A batch whose key is already stored is skipped whole.
// The time-range filter gets a BRIN index: rows arrive in time order, and a BRIN index costs
// almost nothing to maintain on append.
// The type index leaves out token.issued, the event of every token request (most of the rows):
// a listing of that type walks the primary key newest first and meets matches at once, while the
// rare types still find theirs through the index. One index entry less per token request.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists audit_events_event_key_idx');
  await knex.raw('alter table audit_events drop column if exists event_key');
  await knex.raw('alter table audit_events add column batch_key uuid');
  await knex.raw(
    'create unique index audit_events_batch_key_idx on audit_events (batch_key) where batch_key is not null',
  );
  await knex.raw('drop index if exists audit_events_occurred_at_idx');
  await knex.raw('create index audit_events_occurred_at_brin on audit_events using brin (occurred_at)');
  await knex.raw('drop index if exists audit_events_type_idx');
  await knex.raw("create index audit_events_type_idx on audit_events (type, id) where type <> 'token.issued'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists audit_events_type_idx');
  await knex.raw('create index audit_events_type_idx on audit_events (type, id)');
  await knex.raw('drop index if exists audit_events_occurred_at_brin');
  await knex.raw('create index if not exists audit_events_occurred_at_idx on audit_events (occurred_at)');
  await knex.raw('drop index if exists audit_events_batch_key_idx');
  await knex.raw('alter table audit_events drop column if exists batch_key');
  await knex.raw('alter table audit_events add column if not exists event_key uuid');
  await knex.raw('create unique index if not exists audit_events_event_key_idx on audit_events (event_key)');
}
