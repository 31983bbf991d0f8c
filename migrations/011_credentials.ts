import type { Knex } from 'knex';

// Sign-in credentials (password, TOTP, passkeys, recovery codes): one row each, so a
// new method is a new `type`. `secret_sealed` is AES-GCM under the KEK (domain/keys/key-encryption);
// `counter` moves forward only (last TOTP step, passkey signature counter). Recovery codes are
// stored as hashes, one row each, consumed with one conditional UPDATE. `one_time_values` holds
// short-lived single-use values (WebAuthn challenges, TOTP setup) when there is no Redis.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('credentials', (t) => {
    t.text('id').primary();
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('type').notNullable();
    t.text('name');
    t.jsonb('public_data').notNullable().defaultTo('{}');
    t.text('secret_sealed');
    // A secret that is only ever checked, never read back (the password's Argon2id hash).
    t.text('secret_hash');
    t.bigInteger('counter').notNullable().defaultTo(0);
    t.text('external_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
  });
  await knex.raw('create index credentials_user_id_idx on credentials (user_id, type)');
  await knex.raw(
    'create unique index credentials_external_id_idx on credentials (type, external_id) where external_id is not null',
  );
  await knex.schema.createTable('recovery_codes', (t) => {
    t.text('credential_id').notNullable().references('id').inTable('credentials').onDelete('CASCADE');
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('code_hash').notNullable();
    t.timestamp('used_at', { useTz: true });
    t.primary(['user_id', 'code_hash']);
  });
  await knex.raw('create index recovery_codes_credential_id_idx on recovery_codes (credential_id)');
  await knex.schema.createTable('one_time_values', (t) => {
    t.text('key').primary();
    t.jsonb('value').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
  await knex.raw('create index one_time_values_expires_at_idx on one_time_values (expires_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('one_time_values');
  await knex.schema.dropTableIfExists('recovery_codes');
  await knex.schema.dropTableIfExists('credentials');
}
