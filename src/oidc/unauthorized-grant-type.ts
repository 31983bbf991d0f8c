import type { Context, Next } from 'koa';

/** oidc-provider's description for a grant type the client is not registered for (lib/actions/token.js). */
const GRANT_TYPE_NOT_ALLOWED = 'requested grant type is not allowed for this client';

/**
 * RFC 6749 §5.2 (and OAuth 2.1): a client using a grant type it is not authorized to use gets
 * `unauthorized_client`. oidc-provider answers `invalid_request` for it; correct the code.
 */
export function unauthorizedGrantType(tokenPath: string) {
  return async function grantTypeNotAllowed(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== tokenPath || ctx.status !== 400) return;
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    if (body?.error === 'invalid_request' && body.error_description === GRANT_TYPE_NOT_ALLOWED) body.error = 'unauthorized_client';
  };
}
