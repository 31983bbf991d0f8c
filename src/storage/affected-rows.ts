/** knex answers a row count for update/delete on pg but a result object ({ rowCount }) on PGlite. */
export function affectedRows(result: unknown): number {
  return typeof result === 'number' ? result : Number((result as { rowCount?: number } | undefined)?.rowCount ?? 0);
}
