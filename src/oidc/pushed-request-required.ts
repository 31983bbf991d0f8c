import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * RFC 9126 §6: a client registered with `require_pushed_authorization_requests` starts an
 * authorization only with a request_uri from the PAR endpoint. The parameters of a plain request
 * from the browser are unauthenticated, so its refusal is shown on our error page and never sent
 * to the redirect_uri it names (oidc-provider would redirect it there).
 *
 * oidc-provider decides between redirecting and rendering right after it emits
 * `authorization.error` (synchronously), from the error's `allow_redirect`.
 */
export function pushedRequestRequired(provider: Provider): void {
  provider.on('authorization.error', (ctx: KoaContextWithOIDC, err: { allow_redirect?: boolean }) => {
    const { oidc } = ctx;
    const client = oidc?.client as { requirePushedAuthorizationRequests?: boolean } | undefined;
    if (
      oidc?.route === 'authorization' &&
      client?.requirePushedAuthorizationRequests &&
      !('PushedAuthorizationRequest' in oidc.entities)
    ) {
      err.allow_redirect = false;
    }
  });
}
