import type { Knex } from 'knex';

// Roles and permissions (src/domain/authorization/). A permission is one scope of one registered
// resource; deleting the resource, role, user or client removes the rows that name it.
// One statement per knex.raw: PGlite rejects several.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('roles', (t) => {
    t.text('id').primary();
    t.text('name').notNullable().unique();
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('role_permissions', (t) => {
    t.text('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.text('resource').notNullable().references('indicator').inTable('resources').onDelete('CASCADE');
    t.text('scope').notNullable();
    t.primary(['role_id', 'resource', 'scope']);
  });
  await knex.raw('create index role_permissions_resource_idx on role_permissions (resource)');
  await knex.schema.createTable('user_roles', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.primary(['user_id', 'role_id']);
  });
  await knex.schema.createTable('client_roles', (t) => {
    t.text('client_id').notNullable().references('client_id').inTable('clients').onDelete('CASCADE');
    t.text('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.primary(['client_id', 'role_id']);
  });
  await knex.schema.createTable('user_permissions', (t) => {
    t.text('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.text('resource').notNullable().references('indicator').inTable('resources').onDelete('CASCADE');
    t.text('scope').notNullable();
    t.primary(['user_id', 'resource', 'scope']);
  });
  await knex.raw('create index user_permissions_resource_idx on user_permissions (resource)');
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['user_permissions', 'client_roles', 'user_roles', 'role_permissions', 'roles']) {
    await knex.schema.dropTableIfExists(table);
  }
}
