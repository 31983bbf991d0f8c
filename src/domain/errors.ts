/** The closed set of error codes Gatehouse's own code raises; OAuth-shaped where one fits. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'invalid_password'
  | 'invalid_credentials'
  | 'unauthorized'
  | 'invalid_token'
  | 'forbidden'
  | 'insufficient_scope'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'service_unavailable'
  | 'temporarily_unavailable'
  | 'server_error';

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_client_metadata: 400,
  invalid_redirect_uri: 400,
  invalid_password: 400,
  invalid_credentials: 401,
  unauthorized: 401,
  invalid_token: 401,
  forbidden: 403,
  insufficient_scope: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  service_unavailable: 503,
  temporarily_unavailable: 503,
  server_error: 500,
};

/** Base of every error Gatehouse throws on purpose. `expose` says whether the message may reach a caller. */
export class GatehouseError extends Error {
  readonly status: number;
  readonly expose: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatehouseError';
    this.status = STATUS[code];
    this.expose = this.status < 500;
  }
}

export const notFound = (what: string) => new GatehouseError('not_found', `${what} not found`);
export const conflict = (message: string) => new Conflict(message);
export const invalidRequest = (message: string) => new GatehouseError('invalid_request', message);

/**
 * A store (PostgreSQL, PGlite, Redis, the connection pool) cannot be reached or is overloaded right
 * now: not a bug and not bad input. Raised only by storage, which keeps the driver error as `cause`;
 * every layer above answers it the same way (UNAVAILABLE_BODY, 503, Retry-After) and may retry.
 */
export class StorageUnavailable extends GatehouseError {
  constructor(options?: { cause?: unknown }) {
    // The driver's words go into the message for the log; a 5xx message never reaches a caller.
    const driverMessage = options?.cause instanceof Error ? options.cause.message : undefined;
    const message = driverMessage ? `storage unavailable: ${driverMessage}` : 'storage unavailable';
    super('temporarily_unavailable', message, options);
    this.name = 'StorageUnavailable';
  }

  /** What the driver said (the cause's message), if it said anything. */
  get driverMessage(): string | undefined {
    return this.cause instanceof Error ? this.cause.message : undefined;
  }

  /** A short log entry for the outage (a warning, without a stack). */
  toLog(): { name: string; message: string } {
    return { name: this.name, message: this.message };
  }
}

/**
 * A write collided with a record that already exists (a unique key). Storage raises it with the
 * driver error as `cause` and the violated constraint's name; a repository that knows what the
 * key means rethrows it with a message naming the rule.
 */
export class Conflict extends GatehouseError {
  readonly constraint: string | undefined;
  constructor(message: string, options?: { cause?: unknown; constraint?: string }) {
    super('conflict', message, options);
    this.name = 'Conflict';
    this.constraint = options?.constraint;
  }
}

/** The one answer to an outage, on every port and endpoint (OAuth's `temporarily_unavailable`). */
export const UNAVAILABLE_BODY = {
  error: 'temporarily_unavailable',
  error_description: 'the service is temporarily unavailable, retry shortly',
} as const;
/** Sent as Retry-After with UNAVAILABLE_BODY: long enough for a pool or a Redis reconnect to recover. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;
