import type { Knex } from 'knex';

// One statement per knex.raw: PGlite rejects several in one call.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.text('id').primary();
    t.text('email').notNullable();
    t.text('name');
    t.boolean('email_verified').notNullable().defaultTo(false);
    t.text('password_hash');
    t.boolean('disabled').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('create unique index users_email_lower_key on users (lower(email))');

  await knex.schema.createTable('clients', (t) => {
    t.text('client_id').primary();
    t.jsonb('metadata').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // oidc-provider artifacts. Durable models always live here; short-lived ones too when no Redis.
  await knex.schema.createTable('oidc_models', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('uid');
    t.text('user_code');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    // Refresh tokens: the token that replaced this one at rotation (for the retry grace window).
    t.text('successor_id');
    t.primary(['model', 'id']);
  });
  await knex.raw('create index oidc_models_grant_id_idx on oidc_models (grant_id) where grant_id is not null');
  await knex.raw('create index oidc_models_uid_idx on oidc_models (model, uid) where uid is not null');
  await knex.raw(
    'create index oidc_models_user_code_idx on oidc_models (model, user_code) where user_code is not null',
  );
  await knex.raw('create index oidc_models_expires_at_idx on oidc_models (expires_at) where expires_at is not null');
  await knex.raw(
    "create index oidc_models_account_idx on oidc_models ((payload->>'accountId')) where model in ('Session', 'Grant')",
  );

  // API resources (RFC 8707 resource indicators) that receive JWT access tokens.
  await knex.schema.createTable('resources', (t) => {
    t.text('indicator').primary();
    t.text('name');
    t.jsonb('scopes').notNullable();
    t.integer('access_token_ttl_seconds');
    t.text('access_token_format').notNullable().defaultTo('jwt');
    t.text('signing_alg');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    t.text('state').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.text('private_jwk_encrypted').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('activated_at', { useTz: true });
    t.timestamp('retired_at', { useTz: true });
  });

  // Named secrets (cookie signing keys), encrypted under the key-encryption key.
  await knex.schema.createTable('secrets', (t) => {
    t.text('name').primary();
    t.text('value_encrypted').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['secrets', 'signing_keys', 'resources', 'oidc_models', 'clients', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
