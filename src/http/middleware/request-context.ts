import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from '../../observability/logger.js';

declare module 'koa' {
  interface DefaultState {
    log: Logger;
    requestId: string;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Gives a raw request its id: the caller's X-Request-Id when sane, else a new one; echoed in the response. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  req.headers['x-request-id'] = requestId;
  res.setHeader('X-Request-Id', requestId);
  return requestId;
}

/** A request id (taken from X-Request-Id when sane) and a child logger carrying it; one access log line. */
export function requestContext(logger: Logger) {
  return async function requestContextMiddleware(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    // Handed on to oidc-provider's own context (it builds a new one from the raw request).
    ctx.req.headers['x-request-id'] = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 };
      // 503 is a deliberate answer (an outage, shedding load, draining): a warning, not an error.
      if (ctx.status >= 500 && ctx.status !== 503) ctx.state.log.error(line, 'request');
      else if (ctx.status === 503) ctx.state.log.warn(line, 'request');
      else ctx.state.log.debug(line, 'request');
    }
  };
}
