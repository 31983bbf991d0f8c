import { parse } from 'node:querystring';
import type { Context, Next } from 'koa';
import { GatehouseError } from '../../domain/errors.js';

declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}

/**
 * The rest of an oversized body is never read, so the connection cannot carry another request:
 * `Connection: close` makes Node close it after the 413 instead of handing the client a
 * half-read keep-alive socket that fails its next request with ECONNRESET.
 */
function tooLarge(ctx: Context, limit: number): GatehouseError {
  ctx.set('Connection', 'close');
  return new GatehouseError('payload_too_large', `request body exceeds ${limit} bytes`);
}

export async function readLimited(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw tooLarge(ctx, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(ctx, limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** PostgreSQL text and jsonb cannot hold U+0000 (the driver fails with a 500); no legitimate field carries one. */
const hasNul = (s: string) => s.includes('\u0000');
const nulInBody = () => new GatehouseError('invalid_request', 'request body must not contain NUL characters');

function rejectNul(key: string, value: unknown): unknown {
  if (hasNul(key) || (typeof value === 'string' && hasNul(value))) throw nulInBody();
  return value;
}

/** JSON bodies only, with a size limit; malformed JSON is a 400, anything else a 415. */
export function jsonBody(limitBytes: number) {
  return async function parseJson(ctx: Context, next: Next): Promise<void> {
    if (['POST', 'PUT', 'PATCH'].includes(ctx.method)) {
      const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
      if (hasBody && !ctx.is('application/json', '+json')) {
        throw new GatehouseError('unsupported_media_type', 'request body must be application/json');
      }
      const raw = hasBody ? await readLimited(ctx, limitBytes) : '';
      try {
        ctx.request.body = raw.trim() === '' ? undefined : JSON.parse(raw, rejectNul);
      } catch (err) {
        if (err instanceof GatehouseError) throw err;
        throw new GatehouseError('invalid_request', 'request body is not valid JSON');
      }
    }
    await next();
  };
}

/** application/x-www-form-urlencoded bodies for the HTML forms; repeated fields are rejected. */
export function formBody(limitBytes: number) {
  return async function parseForm(ctx: Context, next: Next): Promise<void> {
    if (ctx.method === 'POST') {
      if (!ctx.is('application/x-www-form-urlencoded'))
        throw new GatehouseError('unsupported_media_type', 'form must be application/x-www-form-urlencoded');
      const parsed = parse(await readLimited(ctx, limitBytes));
      const body: Record<string, string> = {};
      for (const [k, v] of Object.entries(parsed)) {
        if (Array.isArray(v)) throw new GatehouseError('invalid_request', `field ${k} is repeated`);
        if (hasNul(k) || (v !== undefined && hasNul(v))) throw nulInBody();
        if (v !== undefined) body[k] = v;
      }
      ctx.request.body = body;
    }
    await next();
  };
}
