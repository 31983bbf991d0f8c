import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { GatehouseError } from '../../domain/errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** `Authorization: Bearer <admin key>`, compared in constant time (digests have equal length). */
export function adminAuth(adminKey: string) {
  const expected = digest(adminKey);
  return async function requireAdmin(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([\x21-\x7E]+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="gatehouse-admin"');
      ctx.state.log?.warn({ event: 'admin.auth_failed', ip: ctx.ip }, 'admin authentication failed');
      throw new GatehouseError('unauthorized', 'a valid admin bearer key is required');
    }
    await next();
  };
}
