import { parse } from 'node:querystring';
import type { Context, Next } from 'koa';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, decodeJwt, type JSONWebKeySet } from 'jose';
import { routesTo } from './route-path.js';

/** The introspection/revocation body limit oidc-provider itself applies. */
const BODY_LIMIT_BYTES = 56 * 1024;
/** A value no token can have: a JWT we cannot verify introspects as inactive and revokes as a no-op. */
const UNKNOWN_TOKEN = 'unverifiable-structured-token';

async function readBody(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT_BYTES) ctx.throw(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Lets the stock introspection and revocation endpoints handle our JWT access tokens: a `token`
 * that is a JWT signed by one of our keys for our issuer is replaced by its `jti`, under which
 * the token was recorded when it was issued (see jwt-access-token-records.ts).
 */
export function structuredTokenLookup(paths: string[], issuer: string, publicJwks: () => JSONWebKeySet) {
  return async function structuredToken(ctx: Context, next: Next): Promise<void> {
    if (
      ctx.method !== 'POST' ||
      !paths.some((p) => routesTo(ctx.path, p)) ||
      !ctx.is('application/x-www-form-urlencoded')
    )
      return next();
    const raw = await readBody(ctx);
    const params = parse(raw);
    const token = params.token;
    if (typeof token === 'string' && token.split('.').length === 3) {
      let replacement = UNKNOWN_TOKEN;
      try {
        decodeProtectedHeader(token);
        await compactVerify(token, createLocalJWKSet(publicJwks()));
        const claims = decodeJwt(token);
        if (claims.iss === issuer && typeof claims.jti === 'string') replacement = claims.jti;
      } catch {
        // not ours, tampered or malformed: stays unknown
      }
      params.token = replacement;
    }
    // Handed to oidc-provider as the already-read body (it accepts ctx.req.body).
    (ctx.req as unknown as { body: Record<string, unknown> }).body = params;
    return next();
  };
}
