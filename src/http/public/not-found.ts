import type { Context } from 'koa';
import type { Views } from '../views.js';
import { renderErrorPage } from './pages.js';
import { pathOf, protocolMethods } from './canonical-paths.js';

/**
 * The end of the public port's chain: nothing answered the request. A protocol path asked with a
 * method it does not serve is 405 with `Allow`; anything else (including a non-canonical spelling
 * of a protocol path such as `/Token` or `/token/`) is 404. People get our HTML error page,
 * callers that prefer JSON an OAuth-shaped body — never Koa's bare-text "Not Found".
 */
export function notFound(views: Views) {
  return async function answerNotFound(ctx: Context): Promise<void> {
    const methods = protocolMethods(pathOf(ctx.url));
    if (methods) {
      ctx.set('Allow', methods.join(', '));
      renderErrorPage(views, ctx, 405, 'method_not_allowed', `${ctx.method} is not allowed here`);
      return;
    }
    renderErrorPage(views, ctx, 404, 'not_found', 'there is nothing at this address');
  };
}
