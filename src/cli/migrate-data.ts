import { CommandFailed, UsageError } from './cli-output.js';

export interface MigrateDataOptions {
  /** The embedded data directory to copy from (Gatehouse must be stopped: the directory is locked). */
  from: string;
  /** postgres:// URL of the database to copy into. */
  to: string;
  /** Empty a target that already holds data before copying. */
  force: boolean;
}

/**
 * `gatehouse migrate-data --from ./data --to postgres://…`: the move from embedded PGlite to
 * PostgreSQL. Unlike every other command it talks to databases, not to the admin API: the
 * source directory must not be served while it is read (its lock refuses a running Gatehouse).
 * Migrations run on both sides, then every table is copied parents first, in one transaction.
 */
export async function migrateDataCommand(options: MigrateDataOptions, out: (line: string) => void): Promise<void> {
  if (!/^postgres(ql)?:\/\//.test(options.to))
    throw new UsageError('--to must be a postgres:// URL (or set DATABASE_URL)');
  // Loaded here only: the admin commands never need a database driver.
  try {
    await copy(options, out);
  } catch (err) {
    const { databaseConnectionHint } = await import('../storage/connection-hint.js');
    const hint = databaseConnectionHint(err, options.to);
    if (hint) throw new CommandFailed(hint);
    // Refusals with a message written for the user: a non-empty target, a locked or foreign directory.
    if (err instanceof Error && EXPLAINED.has(err.name)) throw new CommandFailed(err.message);
    throw err;
  }
}

const EXPLAINED = new Set([
  'TargetNotEmptyError',
  'SchemaMismatchError',
  'DirectoryLockedError',
  'DataDirectoryPermissionError',
]);

async function copy(options: MigrateDataOptions, out: (line: string) => void): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  // Opening a directory without a database would create an empty one and copy nothing.
  if (!fs.existsSync(path.join(options.from, 'pg')))
    throw new CommandFailed(`no embedded database in ${options.from} (--from)`);
  const { Database } = await import('../storage/database.js');
  const { copyAllData } = await import('../storage/copy-data.js');
  const source = await Database.open({ dataDir: options.from, poolMax: 1 });
  try {
    const target = await Database.open({
      databaseUrl: options.to,
      dataDir: options.from,
      poolMax: 2,
      queryTimeoutMs: 600_000,
    });
    try {
      out(`copying ${options.from} → ${redact(options.to)}`);
      const reports = await copyAllData(source, target, {
        replace: options.force,
        onTable: (r) => out(`  ${r.table}: ${r.rows} row${r.rows === 1 ? '' : 's'}`),
      });
      const total = reports.reduce((n, r) => n + r.rows, 0);
      out(
        `done: ${total} rows in ${reports.length} tables. Start Gatehouse with DATABASE_URL set to the target, ` +
          'the same GATEHOUSE_KEK (or keys/kek) and keys/admin-key.',
      );
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** The URL without its password, for output. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(the target)';
  }
}
