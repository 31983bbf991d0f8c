import type { Knex } from 'knex';

// The password moves from a column on `users` to a `password` row in `credentials` (its Argon2id
// hash in `secret_hash`), beside the account's other sign-in methods. One password per account.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("create unique index credentials_one_password_idx on credentials (user_id) where type = 'password'");
  await knex.raw(
    `insert into credentials (id, user_id, type, secret_hash, created_at)
     select gen_random_uuid()::text, id, 'password', password_hash, created_at
     from users where password_hash is not null`,
  );
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('password_hash');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.text('password_hash');
  });
  await knex.raw(
    `update users set password_hash = c.secret_hash
     from credentials c where c.user_id = users.id and c.type = 'password'`,
  );
  await knex.raw("delete from credentials where type = 'password'");
  await knex.raw('drop index if exists credentials_one_password_idx');
}
