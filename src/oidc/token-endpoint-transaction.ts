import type { Context, Next } from 'koa';
import type { Database } from '../storage/database.js';
import { GRACE_SUCCESSOR, type GraceSuccessor } from '../storage/oidc-adapters/refresh-token-adapter.js';

/**
 * Runs each token request as one unit of work: a refresh-token rotation (old token consumed,
 * successor and access token stored) commits together, after the response is built and before
 * it is sent. Any error rolls it back, so a crash or failure never strands the client without
 * a usable refresh token.
 */
export function tokenEndpointTransaction(database: Database, tokenPath: string) {
  return async function tokenTransaction(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath) return next();
    await database.withUnitOfWork(async (unit) => {
      await next();
      if (ctx.status !== 200) {
        await unit.rollback();
        return;
      }
      // Grace-window retry of a just-rotated refresh token: answer with the same successor.
      const grace = database.unitNotes()?.get(GRACE_SUCCESSOR) as GraceSuccessor | undefined;
      if (grace && ctx.body && typeof ctx.body === 'object') (ctx.body as { refresh_token?: string }).refresh_token = grace.successorId;
      try {
        await unit.commit();
      } catch (err) {
        ctx.state.log?.error({ err }, 'token transaction commit failed');
        ctx.status = 503;
        ctx.body = { error: 'temporarily_unavailable', error_description: 'try again' };
      }
    });
  };
}
