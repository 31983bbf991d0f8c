import type { Context, Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { routesTo } from './route-path.js';

/** oidc-provider's description for a grant type the client is not registered for (lib/actions/token.js). */
const GRANT_TYPE_NOT_ALLOWED = 'requested grant type is not allowed for this client';

/**
 * RFC 6749 §5.2 (and OAuth 2.1): a client using a grant type it is not authorized to use gets
 * `unauthorized_client`. oidc-provider answers `invalid_request` for it; correct the code.
 */
export function unauthorizedGrantType(tokenPath?: string) {
  // Given the token path, other requests pass straight through (no async frame of its own).
  if (tokenPath)
    return (ctx: Context, next: Next): Promise<void> =>
      ctx.method === 'POST' && routesTo(ctx.path, tokenPath) ? grantTypeNotAllowed(ctx, next) : next();
  return grantTypeNotAllowed;

  async function grantTypeNotAllowed(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.status !== 400 || (ctx as unknown as KoaContextWithOIDC).oidc?.route !== 'token') return;
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    if (body?.error === 'invalid_request' && body.error_description === GRANT_TYPE_NOT_ALLOWED)
      body.error = 'unauthorized_client';
  }
}
