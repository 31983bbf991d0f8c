import type { Context, Next } from 'koa';
import type { Database } from '../storage/database.js';
import { isStorageUnavailable } from '../storage/storage-errors.js';
import { answerUnavailable } from './storage-outage.js';
import { commitPendingRotation, flushPendingRefreshConsume, GRACE_SUCCESSOR, type GraceSuccessor } from '../storage/oidc-adapters/refresh-token-adapter.js';

/**
 * Gives each token request a storage scope, in which a refresh-token rotation is written as one
 * conditional statement (see refresh-token-adapter.ts), and finishes what the scope noted:
 * a grace-window retry is answered with the existing successor.
 */
export function tokenRequestScope(database: Database, tokenPath: string) {
  return async function tokenScope(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath) return next();
    await database.withRequestScope(async () => {
      await next();
      if (ctx.status !== 200) return;
      try {
        await commitPendingRotation(database);
        await flushPendingRefreshConsume(database);
      } catch (err) {
        if (isStorageUnavailable(err)) {
          answerUnavailable(ctx);
          return;
        }
        ctx.status = 400;
        ctx.body = { error: 'invalid_grant', error_description: (err as Error).message };
        return;
      }
      const grace = database.requestNotes()?.get(GRACE_SUCCESSOR) as GraceSuccessor | undefined;
      if (grace && ctx.body && typeof ctx.body === 'object') (ctx.body as { refresh_token?: string }).refresh_token = grace.successorId;
    });
  };
}
