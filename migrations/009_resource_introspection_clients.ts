import type { Knex } from 'knex';

// Resource servers allowed to introspect tokens issued for an API (RFC 7662): client ids.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resources', (t) => {
    t.jsonb('introspection_clients').notNullable().defaultTo('[]');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resources', (t) => {
    t.dropColumn('introspection_clients');
  });
}
