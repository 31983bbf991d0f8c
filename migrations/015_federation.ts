import type { Knex } from 'knex';

// Federation (issue 15): upstream identity providers ("connections") and the upstream identities
// linked to local accounts.
// - `connections`: one row per upstream (type oidc | oauth2 | saml). Settings that are not secret
//   live in `settings` (jsonb, per type); the client secret, an Apple .p8 key or SAML SP private
//   keys are sealed under the KEK in `secret_sealed` (AES-GCM, the connection id as associated data).
// - `federated_identities`: (connection, upstream subject or NameID) → one account, unique per
//   connection; deleted with the account or the connection.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('connections', (t) => {
    t.text('id').primary();
    t.text('type').notNullable();
    t.text('slug').notNullable().unique();
    t.text('name').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.jsonb('domains').notNullable().defaultTo('[]');
    t.boolean('enforce_sso').notNullable().defaultTo(false);
    t.boolean('jit').notNullable().defaultTo(true);
    t.text('link_existing').notNullable().defaultTo('prompt');
    t.boolean('trusted_mfa').notNullable().defaultTo(false);
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.text('secret_sealed');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('federated_identities', (t) => {
    t.text('id').primary();
    t.text('connection_id').notNullable().references('id').inTable('connections').onDelete('CASCADE');
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('subject').notNullable();
    t.text('email');
    t.timestamp('linked_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.unique(['connection_id', 'subject']);
  });
  await knex.raw('create index federated_identities_user_idx on federated_identities (user_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('federated_identities');
  await knex.schema.dropTableIfExists('connections');
}
