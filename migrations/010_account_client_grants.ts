import type { Knex } from 'knex';

// The grant a user gave a client, remembered across browser sessions: which grant a new session
// for the same (account, client) starts from (oidc-provider's loadExistingGrant). Holds the grant
// id only; the grant itself stays in oidc_models and is read (and checked) through the provider.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('account_client_grants', (t) => {
    t.text('account_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('client_id').notNullable().references('client_id').inTable('clients').onDelete('CASCADE');
    t.text('grant_id').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['account_id', 'client_id']);
  });
  await knex.raw('create index account_client_grants_expires_at_idx on account_client_grants (expires_at)');
  await knex.raw('create index account_client_grants_client_id_idx on account_client_grants (client_id)');
  await knex.raw('create index account_client_grants_grant_id_idx on account_client_grants (grant_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('account_client_grants');
}
