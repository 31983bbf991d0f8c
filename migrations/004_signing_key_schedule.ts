import type { Knex } from 'knex';

// Staged signing-key rotation (src/domain/keys/). A key's state is derived from these times, so
// every instance agrees on it without coordinating: next (published, not signing) until
// activated_at, current until deactivated_at, previous (published, verifying only) until
// retired_at or revoked_at, then retired. The stored `state` column is replaced by them.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.timestamp('deactivated_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });
  await knex.raw('update signing_keys set activated_at = coalesce(activated_at, created_at)');
  await knex.schema.alterTable('signing_keys', (t) => {
    t.timestamp('activated_at', { useTz: true }).notNullable().alter();
    t.dropColumn('state');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.text('state').notNullable().defaultTo('current');
    t.dropColumn('deactivated_at');
    t.dropColumn('revoked_at');
  });
}
