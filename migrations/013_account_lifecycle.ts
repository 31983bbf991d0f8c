import type { Knex } from 'knex';

// Account lifecycle (issue 14).
// - `outbox`: every email is written here first and sent by a worker (src/mail/outbox-worker.ts),
//   so an SMTP outage delays mail but loses none. A worker claims due rows with a lease
//   (`status = 'sending'`, `lease_until`) in one statement with SKIP LOCKED, so two instances
//   never send one message at once; a lease that runs out (a crashed worker) is claimed again.
// - `account_lockouts`: consecutive failed passwords per normalised email (known or not, so the
//   limit reveals nothing), with the time password sign-in is held until. Durable: a Redis
//   restart must not unlock accounts under attack.
// - `known_devices`: browsers an account has signed in from (a device cookie's hash), for the
//   new-device notification.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (t) => {
    t.text('id').primary();
    t.text('to_address').notNullable();
    t.text('template').notNullable();
    t.text('subject').notNullable();
    t.text('text_body').notNullable();
    t.text('html_body').notNullable();
    // queued → sending → sent; `failed` once retries are given up (kept, readable, resendable).
    t.text('status').notNullable().defaultTo('queued');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('lease_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
  });
  await knex.raw("create index outbox_due_idx on outbox (next_attempt_at) where status in ('queued', 'sending')");
  await knex.raw('create index outbox_created_idx on outbox (created_at desc, id desc)');
  await knex.raw('create index outbox_to_idx on outbox (lower(to_address), created_at desc)');

  await knex.schema.createTable('account_lockouts', (t) => {
    // sha256 of the normalised, lower-cased email: the table names no addresses.
    t.text('email_key').primary();
    t.integer('failed_attempts').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('known_devices', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('device_hash').notNullable();
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'device_hash']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('known_devices');
  await knex.schema.dropTableIfExists('account_lockouts');
  await knex.schema.dropTableIfExists('outbox');
}
