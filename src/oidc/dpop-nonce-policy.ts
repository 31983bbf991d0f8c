import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * RFC 9449 §8: at the token endpoint a DPoP proof must carry a nonce the server issued recently,
 * so a proof minted ahead of time (by code that once ran on the client) is useless later. The
 * first proof without one is answered `use_dpop_nonce` with a `DPoP-Nonce` header; clients
 * (openid-client, oauth4webapi) retry with it. Decided on the route name, not the path, so
 * `/Token` or `/token/` cannot skip it. Nonces derive from a deployment-wide secret, so one
 * issued by any instance is accepted by every other.
 */
export function dpopRequireNonce(enabled: boolean): (ctx: KoaContextWithOIDC) => boolean {
  return (ctx) => enabled && ctx.oidc?.route === 'token';
}
