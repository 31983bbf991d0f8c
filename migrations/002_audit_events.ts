import type { Knex } from 'knex';

// Append-only audit log (src/domain/audit/). One statement per knex.raw: PGlite rejects several.
// `data` holds event details; it never contains secrets, tokens, codes or password hashes.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create table audit_events (
    id bigint generated always as identity primary key,
    occurred_at timestamptz not null,
    type text not null,
    actor text not null,
    subject text,
    client_id text,
    ip text,
    user_agent text,
    request_id text,
    data jsonb not null default '{}'::jsonb
  )`);
  await knex.raw('create index audit_events_type_idx on audit_events (type, id)');
  await knex.raw('create index audit_events_subject_idx on audit_events (subject, id) where subject is not null');
  await knex.raw('create index audit_events_client_id_idx on audit_events (client_id, id) where client_id is not null');
  await knex.raw('create index audit_events_occurred_at_idx on audit_events (occurred_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_events');
}
