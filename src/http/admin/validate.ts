import type { Context, Next } from 'koa';
import type { z } from 'zod';
import { GatehouseError } from '../../domain/errors.js';

/** Validates a request body against a schema; the first problems become one 400 message. */
export function parseBody<T extends z.ZodType>(
  schema: T,
  body: unknown,
  code: 'invalid_request' | 'invalid_client_metadata' = 'invalid_request',
): z.infer<T> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatehouseError(code, 'request body must be a JSON object');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
      .join('; ');
    const redirect = parsed.error.issues.some(
      (i) => i.path[0] === 'redirect_uris' || i.path[0] === 'post_logout_redirect_uris',
    );
    throw new GatehouseError(redirect ? 'invalid_redirect_uri' : code, issue);
  }
  return parsed.data;
}

/** ?limit=&after= cursor pagination. */
export function pageParams(query: Record<string, unknown>): { limit: number; after?: string } {
  const raw = query.limit;
  const limit = raw === undefined ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200)
    throw new GatehouseError('invalid_request', 'limit must be an integer from 1 to 200');
  const after = typeof query.after === 'string' && query.after ? query.after : undefined;
  return { limit, after };
}

/**
 * No admin id or cursor can contain U+0000 (PostgreSQL text cannot store it, and the driver
 * fails with a 500 when asked to compare one): refuse it in the path or query up front.
 */
export async function rejectNulInUrl(ctx: Context, next: Next): Promise<void> {
  if (/%00/.test(ctx.path) || /%00/.test(ctx.querystring))
    throw new GatehouseError('invalid_request', 'the URL must not contain NUL characters');
  await next();
}
