import type { Context, Next } from 'koa';
import {
  GatehouseError,
  StorageUnavailable,
  UNAVAILABLE_BODY,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from '../../domain/errors.js';

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  code?: string;
  message?: string;
  type?: string;
}

/** Turns any thrown error into { status, error, description }; 5xx never reveal their message. */
export function toErrorResponse(err: unknown): { status: number; error: string; description: string } {
  // An unreachable store: fail closed, say nothing about the inside, invite a retry (one body on every port).
  if (err instanceof StorageUnavailable) {
    return { status: 503, error: UNAVAILABLE_BODY.error, description: UNAVAILABLE_BODY.error_description };
  }
  if (err instanceof GatehouseError) {
    return { status: err.status, error: err.code, description: err.expose ? err.message : 'internal server error' };
  }
  const e = err as HttpishError;
  const status = e?.status ?? e?.statusCode ?? 500;
  if (status === 413) return { status, error: 'payload_too_large', description: 'request body exceeds the size limit' };
  if (status === 415) return { status, error: 'unsupported_media_type', description: 'unsupported content type' };
  if (status >= 400 && status < 500) {
    return {
      status,
      error: status === 404 ? 'not_found' : 'invalid_request',
      description: e.expose && e.message ? e.message.toLowerCase() : 'invalid request',
    };
  }
  if (status === 503) return { status, error: 'service_unavailable', description: 'service temporarily unavailable' };
  return { status: 500, error: 'server_error', description: 'internal server error' };
}

/** JSON errors in the OAuth shape: { error, error_description }. The one place errors become responses for JSON apps. */
export async function jsonErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
    }
  } catch (err) {
    const { status, error, description } = toErrorResponse(err);
    if (err instanceof StorageUnavailable) {
      ctx.state.log?.warn({ err: err.toLog() }, 'storage unavailable: answered 503');
      ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    } else if (status === 503) {
      ctx.state.log?.warn(
        { err: { name: (err as Error).name, message: (err as Error).message } },
        'service unavailable',
      );
    } else if (status >= 500) ctx.state.log?.error({ err }, 'request failed');
    else ctx.state.log?.debug({ err: { message: (err as Error).message } }, 'request rejected');
    ctx.status = status;
    ctx.type = 'application/json';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error, error_description: description };
  }
}
