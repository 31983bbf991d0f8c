import type { Context, Next } from 'koa';
import type { RevocationStorage } from '../domain/tokens/token-request-storage.js';
import { StorageUnavailable } from '../domain/errors.js';
import { answerUnavailable } from './storage-outage.js';
import { routesTo } from './route-path.js';

/**
 * Revocation in an order that survives an outage half-way. oidc-provider deletes the presented
 * token, then revokes its grant (everything issued under it) across every store at once; if
 * PostgreSQL fails after an access token in Redis was deleted, the client gets 503, and its retry
 * finds no token to revoke, so the grant and its refresh tokens would stay alive. Here deletions
 * in Redis wait until the durable (SQL) revocation held: then a retry always finds the token.
 */
export function revocationScope(storage: RevocationStorage, revocationPath: string) {
  // Other requests pass straight through (no async frame of its own).
  return function revokeDurableFirst(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || !routesTo(ctx.path, revocationPath)) return next();
    return inScope(ctx, next);
  };

  async function inScope(ctx: Context, next: Next): Promise<void> {
    await storage.inScope(async () => {
      await next();
      // Not revoked (an error, or an outage answered 503): leave Redis as it was.
      if (ctx.status !== 200) return;
      try {
        await storage.finish();
      } catch (err) {
        if (!(err instanceof StorageUnavailable)) throw err;
        answerUnavailable(ctx);
      }
    });
  }
}
