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
  server_error: 500,
};

/** Base of every error Gatehouse throws on purpose. `expose` says whether the message may reach a caller. */
export class GatehouseError extends Error {
  readonly status: number;
  readonly expose: boolean;
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatehouseError';
    this.status = STATUS[code];
    this.expose = this.status < 500;
  }
}

export const notFound = (what: string) => new GatehouseError('not_found', `${what} not found`);
export const conflict = (message: string) => new GatehouseError('conflict', message);
export const invalidRequest = (message: string) => new GatehouseError('invalid_request', message);
