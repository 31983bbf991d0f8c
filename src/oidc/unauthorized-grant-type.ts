import type { Context, Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** oidc-provider's description for a grant type the client is not registered for (lib/actions/token.js). */
const GRANT_TYPE_NOT_ALLOWED = 'requested grant type is not allowed for this client';

/**
 * RFC 6749 §5.2 (and OAuth 2.1): a client using a grant type it is not authorized to use gets
 * `unauthorized_client`. oidc-provider answers `invalid_request` for it; correct the code.
 */
export function unauthorizedGrantType() {
  return async function grantTypeNotAllowed(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.status !== 400 || (ctx as unknown as KoaContextWithOIDC).oidc?.route !== 'token') return;
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    if (body?.error === 'invalid_request' && body.error_description === GRANT_TYPE_NOT_ALLOWED)
      body.error = 'unauthorized_client';
  };
}
