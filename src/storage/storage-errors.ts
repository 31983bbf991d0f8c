/**
 * Whether an error means a store is unreachable or overloaded right now (PostgreSQL, Redis, the
 * connection pool) rather than a bug or bad input. Such failures are answered with 503 and a
 * generic body: the request may be retried, and nothing about the inside is revealed.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const UNAVAILABLE_NAMES = new Set(['KnexTimeoutError', 'MaxRetriesPerRequestError', 'StorageUnavailableError']);
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /Client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
  /^timeout expired$/i, // pg: no connection within connectionTimeoutMillis
  /Query read timeout/i,
  /Connection is closed\.?$/i,
  /Command timed out/i,
  /Stream isn't writeable/i,
  /max retries per request/i,
  /Timeout acquiring a connection/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

export function isStorageUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { name?: string; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
  if (e.name && UNAVAILABLE_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string') {
    if (NETWORK_CODES.has(e.code)) return true;
    // SQLSTATE: 08 connection exception, 53 insufficient resources, 57P01–57P03 shutdown / cannot connect now, 57014 statement timeout.
    if (/^(08...|53...|57P0[123]|57014)$/.test(e.code)) return true;
  }
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isStorageUnavailable(x, depth + 1))) return true;
  return isStorageUnavailable(e.cause, depth + 1);
}
