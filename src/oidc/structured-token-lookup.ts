import { parse, stringify } from 'node:querystring';
import type { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, decodeJwt, type JSONWebKeySet } from 'jose';
import { routesTo } from './route-path.js';

/** The introspection/revocation body limit oidc-provider itself applies. */
const BODY_LIMIT_BYTES = 56 * 1024;
/** A value no token can have: a JWT we cannot verify introspects as inactive and revokes as a no-op. */
const UNKNOWN_TOKEN = 'unverifiable-structured-token';
const FORM = 'application/x-www-form-urlencoded';

class BodyTooLarge extends Error {}

/**
 * The whole body as a string; rejects past the limit (oidc-provider's own). Plain stream events,
 * with anonymous listeners: no async iterator, and no named closures (tsx names each one, per call).
 */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    // A request is read once and dropped with its response: the listeners go with it.
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        settled = true;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
    // Aborted before its end: what the async iterator reported as a premature close.
    req.on('close', () => {
      if (settled || req.readableEnded) return;
      settled = true;
      reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}

/** ctx.is(FORM) without parsing the media type when the header is spelled exactly (the common case). */
function isForm(ctx: Context): boolean {
  const headers = ctx.req.headers;
  if (headers['content-type'] === FORM)
    // type-is answers null for a request without a body.
    return headers['transfer-encoding'] !== undefined || headers['content-length'] !== undefined;
  return !!ctx.is(FORM);
}

/**
 * Lets the stock introspection and revocation endpoints handle our JWT access tokens: a `token`
 * that is a JWT signed by one of our keys for our issuer is replaced by its `jti`, under which
 * the token was recorded when it was issued (see jwt-access-token-records.ts).
 * The body is read here and handed to oidc-provider as ctx.req.body: as the string it was when
 * nothing is replaced (oidc-provider parses a string once; an object it would serialise and parse
 * again), re-encoded when a token is.
 */
export function structuredTokenLookup(paths: string[], issuer: string, publicJwks: () => JSONWebKeySet) {
  return function structuredToken(ctx: Context, next: Next): Promise<void> {
    if (ctx.method !== 'POST' || !paths.some((p) => routesTo(ctx.path, p)) || !isForm(ctx)) return next();
    return lookUp(ctx, next);
  };

  async function lookUp(ctx: Context, next: Next): Promise<void> {
    let raw: string;
    try {
      raw = await readBody(ctx.req);
    } catch (err) {
      if (err instanceof BodyTooLarge) ctx.throw(413, 'request body too large');
      throw err;
    }
    let body: string | Record<string, unknown> = raw;
    // Only a body that can hold a JWT (two dots) is parsed here; oidc-provider parses the rest.
    if (raw.includes('.')) {
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
        body = stringify(params);
      }
    }
    // Handed to oidc-provider as the already-read body (it accepts ctx.req.body).
    (ctx.req as unknown as { body: unknown }).body = body;
    return next();
  }
}
