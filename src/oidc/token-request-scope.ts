import type { Context, Next } from 'koa';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { TokenRequestStorage } from '../domain/tokens/token-request-storage.js';
import { StorageUnavailable } from '../domain/errors.js';
import { answerUnavailable } from './storage-outage.js';
import { routesTo } from './route-path.js';
import { RefreshRotationLost } from './refresh-reuse.js';

/** Revokes a grant and everything issued under it, wherever it is stored. */
export type RevokeGrant = (grantId: string) => Promise<void>;

/**
 * Gives each token request a storage scope, in which a refresh-token rotation is written as one
 * conditional statement at the end (refresh-token-adapter.ts), and acts on how it ended:
 * - a retry within the client's grace window (or a lost race with one) is answered with the
 *   existing successor — never a second one;
 * - a request that lost the rotation to a concurrent one is reuse (RFC 9700 §4.14): attacker and
 *   client presented the same token, so the whole family is revoked, the winner's successor too.
 */
export function tokenRequestScope(storage: TokenRequestStorage, revokeGrant: RevokeGrant, tokenPath: string) {
  // Other requests pass straight through (no async frame of its own).
  return function tokenScope(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || !routesTo(ctx.path, tokenPath)) return next();
    return inScope(ctx, next);
  };

  async function inScope(ctx: Context, next: Next): Promise<void> {
    await storage.inScope(async () => {
      await next();
      if (ctx.status !== 200) return;
      try {
        const outcome = await storage.finish();
        if (outcome.kind === 'grace') {
          if (ctx.body && typeof ctx.body === 'object')
            (ctx.body as { refresh_token?: string }).refresh_token = outcome.refreshToken;
        } else if (outcome.kind === 'lost') {
          await revokeFamily(ctx as unknown as KoaContextWithOIDC, outcome.grantId);
        }
      } catch (err) {
        if (err instanceof StorageUnavailable) return answerUnavailable(ctx);
        if (!(err instanceof errors.InvalidGrant)) throw err;
        answerInvalidGrant(ctx, err);
      }
    });
  }

  async function revokeFamily(ctx: KoaContextWithOIDC, grantId: string | undefined): Promise<void> {
    const lost = new RefreshRotationLost();
    if (grantId) {
      await revokeGrant(grantId);
      ctx.oidc.provider.emit('grant.revoked', ctx, grantId);
    }
    // The same event oidc-provider emits for reuse it detects itself: audit and metrics follow it.
    ctx.oidc.provider.emit('grant.error', ctx, lost);
    answerInvalidGrant(ctx, lost);
  }
}

function answerInvalidGrant(ctx: Context, err: InstanceType<typeof errors.InvalidGrant>): void {
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_grant', error_description: err.error_description ?? 'grant request is invalid' };
}
