/**
 * JWT access tokens are not stored by oidc-provider, so the stock introspection and revocation
 * endpoints cannot see them. We record each one under its `jti` as it is signed (the JWT
 * customizer runs before signing and is awaited), with the payload an opaque token would have.
 * Introspection and revocation then look the JWT up by its verified `jti`.
 */
interface TokenLike {
  jti: string;
  kind: string;
  extra?: unknown;
  remainingTTL?: number;
  constructor: { IN_PAYLOAD: string[] };
  adapter: { upsert(id: string, payload: Record<string, unknown>, ttl?: number): Promise<void> };
  [key: string]: unknown;
}

export async function recordJwtAccessToken(
  token: TokenLike,
  jwt: { payload: { iat?: number; exp?: number } },
): Promise<void> {
  const payload: Record<string, unknown> = {};
  for (const key of token.constructor.IN_PAYLOAD) {
    if (token[key] !== undefined) payload[key] = token[key];
  }
  Object.assign(payload, {
    jti: token.jti,
    kind: token.kind,
    iat: jwt.payload.iat,
    exp: jwt.payload.exp,
    extra: token.extra,
  });
  if (!payload.exp) return;
  const ttl = Math.max(1, (payload.exp as number) - Math.floor(Date.now() / 1000));
  await token.adapter.upsert(token.jti, payload, ttl);
}
