/** Wrong command, flag or file: the CLI prints the message (and a hint) and exits 2. */
export class UsageError extends Error {}

/** A command that could not do its work for a reason the user can fix: one line on stderr, exit 1, no stack. */
export class CommandFailed extends Error {}

/** Longest cell in `--table` output; longer values are cut with an ellipsis. */
const MAX_CELL_CHARS = 60;

/** Prints a result as pretty JSON, or as a compact table (objects or lists of objects) with --table. */
export function printResult(value: unknown, options: { table: boolean; columns?: string[] }): void {
  if (value === undefined) return;
  if (!options.table) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const rows = (Array.isArray(value) ? value : [value]) as Record<string, unknown>[];
  process.stdout.write(formatTable(rows, options.columns));
}

function cell(v: unknown): string {
  const s =
    v === null || v === undefined
      ? ''
      : Array.isArray(v)
        ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',')
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  return s.length > MAX_CELL_CHARS ? `${s.slice(0, MAX_CELL_CHARS - 1)}…` : s;
}

export function formatTable(rows: Record<string, unknown>[], columns?: string[]): string {
  if (!rows.length) return '(none)\n';
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(cols.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`;
}
