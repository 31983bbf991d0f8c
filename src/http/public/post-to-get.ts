import type { Context, Next } from 'koa';
import { GatehouseError } from '../../domain/errors.js';
import { readLimited } from '../middleware/body-parsers.js';
import { pathOf, POST_TO_GET_PATHS } from './canonical-paths.js';

/**
 * An authorization or logout request is a few parameters; a small request object by value fits.
 * The parameters travel on in the redirected GET's URL, and Node refuses a request whose line and
 * headers pass 16 KiB (431): 8 KiB leaves room for the cookies and the rest of the headers.
 */
export const POST_TO_GET_LIMIT_BYTES = 8 * 1024;

/**
 * OIDC Core §3.1.2.1 (and RP-Initiated Logout §2): the OP must accept the authorization and
 * logout requests by POST. A cross-site POST carries no SameSite=Lax cookies, so handing it to
 * oidc-provider would see no session (or need SameSite=None cookies). Instead the form is
 * re-issued as a 303 to the same path with its parameters in the query: the browser follows it
 * as a top-level GET navigation, which carries the Lax cookies, and the provider sees exactly
 * the request a GET would have made. The query of the POST's own URL is kept, body after it.
 */
export function postToGet() {
  return async function redirectPostToGet(ctx: Context, next: Next): Promise<void> {
    const path = pathOf(ctx.url);
    if (ctx.method !== 'POST' || !POST_TO_GET_PATHS.includes(path)) return next();
    const declared = ctx.get('content-length') !== '' || ctx.get('transfer-encoding') !== '';
    if (declared && !ctx.is('application/x-www-form-urlencoded')) {
      throw new GatehouseError(
        'unsupported_media_type',
        'the request must be a form (application/x-www-form-urlencoded)',
      );
    }
    const body = declared ? await readLimited(ctx, POST_TO_GET_LIMIT_BYTES) : '';
    if (body.includes('\u0000'))
      throw new GatehouseError('invalid_request', 'the request must not contain NUL characters');
    const query = new URLSearchParams(ctx.querystring);
    for (const [name, value] of new URLSearchParams(body)) query.append(name, value);
    const search = query.toString();
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(search ? `${path}?${search}` : path);
  };
}
