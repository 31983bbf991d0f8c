/**
 * A one-line, human hint for a database that cannot be reached or used at start-up (a refused
 * connection, an unknown host, a database that does not exist, a rejected login), or undefined
 * when the error is something else. Start-up prints it instead of a stack: the fix is in the
 * operator's environment, not in Gatehouse. The URL is shown without its password.
 */
export function databaseConnectionHint(err: unknown, databaseUrl: string | undefined): string | undefined {
  if (!databaseUrl) return undefined;
  const where = describeUrl(databaseUrl);
  const codes = errorCodes(err);
  if (codes.has('ECONNREFUSED')) {
    return (
      `cannot connect to PostgreSQL at ${where.server}: connection refused — is PostgreSQL running there? ` +
      '(check DATABASE_URL; unset it to use the embedded database)'
    );
  }
  if (codes.has('ENOTFOUND') || codes.has('EAI_AGAIN')) {
    return `cannot connect to PostgreSQL: host ${where.host} not found (check DATABASE_URL)`;
  }
  if (codes.has('ETIMEDOUT') || codes.has('EHOSTUNREACH') || codes.has('ENETUNREACH')) {
    return `cannot connect to PostgreSQL at ${where.server}: no answer (check DATABASE_URL and the network)`;
  }
  if (codes.has('3D000')) {
    return (
      `database "${where.database}" does not exist on ${where.server}: create it (createdb ${where.database}) ` +
      'or fix DATABASE_URL'
    );
  }
  if (codes.has('28P01') || codes.has('28000')) {
    return `PostgreSQL at ${where.server} refused the login for user "${where.user}" (check DATABASE_URL)`;
  }
  return undefined;
}

function describeUrl(databaseUrl: string): { server: string; host: string; database: string; user: string } {
  try {
    const u = new URL(databaseUrl);
    const host = u.hostname || 'localhost';
    return {
      server: `${host}:${u.port || 5432}`,
      host,
      database: decodeURIComponent(u.pathname.slice(1)),
      user: decodeURIComponent(u.username),
    };
  } catch {
    return { server: '(unparsable DATABASE_URL)', host: '?', database: '?', user: '?' };
  }
}

/** Every `code` on the error, its `cause` chain and AggregateError members (localhost tries ::1 and 127.0.0.1). */
function errorCodes(err: unknown, out = new Set<string>(), depth = 0): Set<string> {
  if (!err || typeof err !== 'object' || depth > 5) return out;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown[] };
  if (typeof e.code === 'string') out.add(e.code);
  if (Array.isArray(e.errors)) for (const x of e.errors) errorCodes(x, out, depth + 1);
  errorCodes(e.cause, out, depth + 1);
  return out;
}
