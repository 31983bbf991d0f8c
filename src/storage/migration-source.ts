import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { codePath } from '../project-paths.js';

/** migrations/*.ts under tsx; dist/migrations/*.js when running built (scripts/build.mjs). */
const MIGRATIONS_DIR = codePath('migrations');

/**
 * Migrations from `migrations/`, named without their extension so a tsx run (.ts) and a
 * compiled run (.js) agree on what has been applied.
 */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d{3}_.+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort();
  },
  getMigrationName(file) {
    return file.replace(/\.(ts|js)$/, '');
  },
  async getMigration(file) {
    return import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href) as Promise<Knex.Migration>;
  },
};
