import type { Context, Next } from 'koa';
import { routesTo } from './route-path.js';

/**
 * RFC 6749 §5.1: `scope` may be left out only when it is exactly what was requested. Gatehouse
 * narrows on purpose (RBAC: a scope the user or client does not hold is left out), so every
 * successful token response says what was granted — `""` when nothing beyond the token itself.
 */
export function tokenResponseScope(tokenPath: string) {
  // Other requests pass straight through (no async frame of its own).
  return (ctx: Context, next: Next): Promise<void> =>
    ctx.method === 'POST' && routesTo(ctx.path, tokenPath) ? addScope(ctx, next) : next();
}

async function addScope(ctx: Context, next: Next): Promise<void> {
  await next();
  const route = (ctx as unknown as { oidc?: { route?: string } }).oidc?.route;
  if (route !== 'token' || ctx.status !== 200) return;
  const body = ctx.body as { access_token?: unknown; scope?: unknown } | undefined;
  if (body && typeof body === 'object' && typeof body.access_token === 'string' && body.scope === undefined)
    body.scope = '';
}
