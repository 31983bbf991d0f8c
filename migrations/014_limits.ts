import type { Knex } from 'knex';

// Send limits (issue 14): the SQL store of rate-limiter-flexible when Redis is not configured
// (src/storage/send-limits.ts). The columns are the library's own Postgres layout — `key`,
// consumed `points`, `expire` in epoch milliseconds — made here rather than by the library at
// run time, so the schema has one owner. Expired rows are deleted by the sweeper (by `expire`).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
  });
  await knex.raw('create index rate_limits_expire_idx on rate_limits (expire)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rate_limits');
}
