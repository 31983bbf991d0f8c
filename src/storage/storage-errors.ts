import { Conflict, GatehouseError, StorageUnavailable } from '../domain/errors.js';

/**
 * Driver errors are classified here, once (as Kratos' sqlcon.HandleError does): what knex, pg,
 * PGlite and ioredis throw becomes a typed error from domain/errors.ts with the driver error as
 * `cause`, so every layer above storage decides with `instanceof` and never reads a message.
 * The knex client (classifying-knex-client.ts) and the Redis client (redis.ts) call
 * `classifyStorageError` on every failure; code that talks to a driver directly (COPY, MULTI)
 * calls it itself.
 */

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
const UNAVAILABLE_NAMES = new Set(['KnexTimeoutError', 'MaxRetriesPerRequestError']);
/** Drivers that say "unavailable" only in words: pg, knex's pool, ioredis, PGlite. */
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
  /^Unable to acquire a connection$/, // knex after its pool was destroyed (shutting down)
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /^PGlite is closed$/, // a request still running while the instance shuts down
];
/**
 * SQLSTATE classes meaning "the store, not the statement": 08 connection exception, 53 insufficient
 * resources, 57P01–57P03 admin shutdown / crash shutdown / cannot connect now, 57014 statement timeout.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0[123]|57014)$/;
const UNIQUE_VIOLATION = '23505';

interface DriverError {
  name?: string;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown[];
  constraint?: unknown;
}

/**
 * Whether an error means a store is unreachable or overloaded right now (PostgreSQL, Redis, the
 * connection pool) rather than a bug or bad input — looking through `cause` and AggregateErrors.
 * Storage's own predicate; above storage, check `instanceof StorageUnavailable`.
 */
export function isStorageUnavailable(err: unknown, depth = 0): boolean {
  if (err instanceof StorageUnavailable) return true;
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as DriverError;
  if (e.name && UNAVAILABLE_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isStorageUnavailable(x, depth + 1))) return true;
  return isStorageUnavailable(e.cause, depth + 1);
}

/**
 * The typed error for a driver error: StorageUnavailable for an outage, Conflict for a unique
 * violation, the error itself otherwise (a bug stays a bug, answered 500). Errors that are
 * already typed pass through unchanged, so classifying twice is harmless.
 */
export function classifyStorageError(err: unknown): unknown {
  if (err instanceof GatehouseError) return err;
  if (isStorageUnavailable(err)) return new StorageUnavailable({ cause: err });
  const e = err as DriverError | undefined;
  if (e?.code === UNIQUE_VIOLATION) {
    const constraint = typeof e.constraint === 'string' ? e.constraint : undefined;
    return new Conflict('conflicts with an existing record', { cause: err, constraint });
  }
  return err;
}

/** Runs `fn`, rethrowing its failure classified. */
export async function withStorageErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyStorageError(err);
  }
}
