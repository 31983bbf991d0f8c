import type { Knex } from 'knex';
import type { Database } from './database.js';

/** Rows read and written per statement: few enough for PostgreSQL's 65535 bind parameters with any of our tables. */
const BATCH_ROWS = 500;
/** knex's own bookkeeping: the target's migrations ran already, so these are not copied. */
const SKIPPED_TABLES = new Set(['knex_migrations', 'knex_migrations_lock']);

export class TargetNotEmptyError extends Error {
  constructor(readonly tables: string[]) {
    super(
      `the target database already holds data (${tables.join(', ')}); ` +
        'copy into an empty database, or pass --force to delete what it holds first',
    );
    this.name = 'TargetNotEmptyError';
  }
}

export class SchemaMismatchError extends Error {
  constructor(detail: string) {
    super(`source and target schemas differ after migrating both (${detail}); run the same Gatehouse version on both`);
    this.name = 'SchemaMismatchError';
  }
}

export interface CopyReport {
  table: string;
  rows: number;
}

interface Column {
  name: string;
  type: string;
  identityAlways: boolean;
  serial: boolean;
}

/**
 * Copies every row of every Gatehouse table from `source` to `target` (e.g. embedded PGlite →
 * PostgreSQL): migrations run on both first, so both have this version's schema; tables are
 * written parents first (by their foreign keys), in one transaction on the target, so a failure
 * leaves the target as it was. Identity and serial sequences are moved past the copied ids.
 * A target that holds any row is refused unless `replace`, which empties it first.
 */
export async function copyAllData(
  source: Database,
  target: Database,
  options: { replace?: boolean; onTable?: (r: CopyReport) => void } = {},
): Promise<CopyReport[]> {
  await source.migrate();
  await target.migrate();
  const tables = await tablesInDependencyOrder(target.knex);
  const sourceTables = new Set(await tableNames(source.knex));
  const missing = tables.filter((t) => !sourceTables.has(t));
  if (missing.length) throw new SchemaMismatchError(`missing in the source: ${missing.join(', ')}`);

  const occupied = [];
  for (const t of tables) if (await target.knex(t).first(target.knex.raw('1'))) occupied.push(t);
  if (occupied.length && !options.replace) throw new TargetNotEmptyError(occupied);

  const reports: CopyReport[] = [];
  await target.knex.transaction(async (trx) => {
    if (occupied.length) await trx.raw(`truncate ${tables.map(quote).join(', ')} cascade`);
    for (const table of tables) {
      const columns = await columnsOf(trx, table);
      const rows = await copyTable(source.knex, trx, table, columns);
      await resetSequences(trx, table, columns);
      const report = { table, rows };
      reports.push(report);
      options.onTable?.(report);
    }
  });
  return reports;
}

async function copyTable(source: Knex, trx: Knex.Transaction, table: string, columns: Column[]): Promise<number> {
  const writable = columns.filter((c) => c.type !== 'generated');
  const names = writable.map((c) => c.name);
  const order = await primaryKey(source, table);
  const overriding = writable.some((c) => c.identityAlways) ? ' overriding system value' : '';
  let copied = 0;
  for (let offset = 0; ; offset += BATCH_ROWS) {
    const page = await source(table)
      .select(names)
      .orderBy(order.length ? order : names.slice(0, 1))
      .limit(BATCH_ROWS)
      .offset(offset);
    if (!page.length) break;
    const bindings: unknown[] = [];
    const tuples = page.map(
      (row: Record<string, unknown>) =>
        `(${writable
          .map((c) => {
            bindings.push(toParameter(row[c.name], c.type));
            return '?';
          })
          .join(', ')})`,
    );
    await trx.raw(
      `insert into ${quote(table)} (${names.map(quote).join(', ')})${overriding} values ${tuples.join(', ')}`,
      bindings as Knex.RawBinding[],
    );
    copied += page.length;
    if (page.length < BATCH_ROWS) break;
  }
  return copied;
}

/**
 * A value as the pg driver must receive it: JSON columns as JSON text (the driver would send a
 * top-level JS array as a PostgreSQL array literal), bytes as a Buffer (PGlite returns Uint8Array).
 */
function toParameter(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'json' || type === 'jsonb') return JSON.stringify(value);
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value);
  return value;
}

async function resetSequences(trx: Knex.Transaction, table: string, columns: Column[]): Promise<void> {
  for (const c of columns.filter((col) => col.serial || col.identityAlways)) {
    await trx.raw(
      `select setval(pg_get_serial_sequence(?, ?), coalesce(max(${quote(c.name)}), 1), max(${quote(c.name)}) is not null) from ${quote(table)}`,
      [table, c.name],
    );
  }
}

async function tableNames(k: Knex): Promise<string[]> {
  const rows = await k.raw(`select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE'`);
  return (rows.rows as { name: string }[]).map((r) => r.name).filter((n) => !SKIPPED_TABLES.has(n));
}

/** Parents before children, by foreign keys; ties by name, so the order is the same on every run. */
async function tablesInDependencyOrder(k: Knex): Promise<string[]> {
  const names = (await tableNames(k)).sort();
  const fks = await k.raw(`select tc.table_name as child, ccu.table_name as parent
    from information_schema.table_constraints tc
    join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.table_schema = tc.table_schema
    where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = current_schema()`);
  const parents = new Map(names.map((n) => [n, new Set<string>()]));
  for (const { child, parent } of fks.rows as { child: string; parent: string }[]) {
    if (child !== parent) parents.get(child)?.add(parent);
  }
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < names.length) {
    const next = names.find(
      (n) => !placed.has(n) && [...parents.get(n)!].every((p) => placed.has(p) || !parents.has(p)),
    );
    if (!next) throw new SchemaMismatchError('foreign keys form a cycle');
    ordered.push(next);
    placed.add(next);
  }
  return ordered;
}

async function columnsOf(k: Knex, table: string): Promise<Column[]> {
  const rows = await k.raw(
    `select column_name as name, data_type, udt_name, is_identity, identity_generation, is_generated, column_default
    from information_schema.columns where table_schema = current_schema() and table_name = ? order by ordinal_position`,
    [table],
  );
  return (rows.rows as Record<string, string | null>[]).map((r) => ({
    name: r.name!,
    type: r.is_generated === 'ALWAYS' ? 'generated' : r.udt_name!,
    identityAlways: r.is_identity === 'YES' && r.identity_generation === 'ALWAYS',
    serial: r.is_identity === 'YES' || (r.column_default ?? '').startsWith('nextval('),
  }));
}

async function primaryKey(k: Knex, table: string): Promise<string[]> {
  const rows = await k.raw(
    `select a.attname as name from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
    where i.indrelid = ?::regclass and i.indisprimary order by array_position(i.indkey::int2[], a.attnum)`,
    [quote(table)],
  );
  return (rows.rows as { name: string }[]).map((r) => r.name);
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
