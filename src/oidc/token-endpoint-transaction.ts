import type { Context, Next } from 'koa';
import type { Database } from '../storage/database.js';

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
