import type { Context, Next } from 'koa';
import { StorageUnavailable } from '../domain/errors.js';
import type { Database } from '../storage/database.js';
import { DEFERRED_REDIS_DELETES, runDeferredRedisDeletes } from '../storage/oidc-adapters/redis-adapter.js';
import { answerUnavailable } from './storage-outage.js';

/**
 * Revocation in an order that survives an outage half-way. oidc-provider deletes the presented
 * token, then revokes its grant (everything issued under it) across every store at once; if
 * PostgreSQL fails after an access token in Redis was deleted, the client gets 503, and its retry
 * finds no token to revoke, so the grant and its refresh tokens would stay alive. Here deletions
 * in Redis wait until the durable (SQL) revocation held: then a retry always finds the token.
 */
export function revocationScope(database: Database, revocationPath: string) {
  return async function revokeDurableFirst(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== revocationPath) return next();
    await database.withRequestScope(async () => {
      const notes = database.requestNotes()!;
      notes.set(DEFERRED_REDIS_DELETES, []);
      await next();
      // Not revoked (an error, or an outage answered 503): leave Redis as it was.
      if (ctx.status !== 200) return;
      try {
        await runDeferredRedisDeletes(notes);
      } catch (err) {
        if (!(err instanceof StorageUnavailable)) throw err;
        answerUnavailable(ctx);
      }
    });
  };
}
