import { parse } from 'node:querystring';
import type { Context, Next } from 'koa';
import { GatehouseError } from '../../domain/errors.js';

declare module 'koa' {
  interface Request { body?: unknown }
}

async function readLimited(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new GatehouseError('payload_too_large', `request body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new GatehouseError('payload_too_large', `request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
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
        ctx.request.body = raw.trim() === '' ? undefined : JSON.parse(raw);
      } catch {
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
      if (!ctx.is('application/x-www-form-urlencoded')) throw new GatehouseError('unsupported_media_type', 'form must be application/x-www-form-urlencoded');
      const parsed = parse(await readLimited(ctx, limitBytes));
      const body: Record<string, string> = {};
      for (const [k, v] of Object.entries(parsed)) {
        if (Array.isArray(v)) throw new GatehouseError('invalid_request', `field ${k} is repeated`);
        if (v !== undefined) body[k] = v;
      }
      ctx.request.body = body;
    }
    await next();
  };
}
