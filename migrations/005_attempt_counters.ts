import type { Knex } from 'knex';

// Fixed-window attempt counters (sign-in throttling) when there is no Redis: one row per key and
// window, incremented by an upsert, old windows deleted by the sweeper.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('attempt_counters', (t) => {
    t.text('key').notNullable();
    t.bigInteger('window_start').notNullable();
    t.integer('count').notNullable();
    t.primary(['key', 'window_start']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('attempt_counters');
}
