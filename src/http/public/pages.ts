import type { Context } from 'koa';
import type { PageRenderer } from '../../oidc/page-renderer.js';
import { setHtmlSecurityHeaders } from '../middleware/security-headers.js';
import type { Views } from '../views.js';

const FRIENDLY: Record<string, string> = {
  invalid_request: 'The sign-in request from the application is not valid.',
  invalid_client: 'The application is not registered with this server.',
  invalid_redirect_uri: 'The application asked to return to an address it has not registered.',
  unauthorized_client: 'The application is not allowed to do this.',
  access_denied: 'Access was denied.',
  invalid_scope: 'The application asked for permissions that do not exist.',
  login_required: 'You need to sign in.',
  server_error: 'Something went wrong on our side. Please try again.',
  session_not_found: 'Your sign-in attempt expired. Go back to the application and start again.',
  temporarily_unavailable: 'The service is temporarily unavailable. Please try again shortly.',
  service_unavailable: 'The service is busy right now. Please try again in a moment.',
  too_many_requests: 'Too many sign-in attempts from your network. Please wait a minute and try again.',
  not_found: 'There is no page at this address.',
  method_not_allowed: 'This address cannot be used this way.',
  payload_too_large: 'The request was too large.',
  unsupported_media_type: 'The request was not in a form this server understands.',
};

export function sendPage(ctx: Context, status: number, html: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = html;
  setHtmlSecurityHeaders(ctx);
}

/** A caller that asks for JSON (an API client, `Accept: application/json`) rather than a page. */
export function prefersJson(ctx: Context): boolean {
  return ctx.accepts('html', 'json') === 'json';
}

export function renderErrorPage(views: Views, ctx: Context, status: number, code: string, description?: string): void {
  const expose = status < 500;
  if (prefersJson(ctx)) {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = { error: code, error_description: expose && description ? description : FRIENDLY.server_error };
    return;
  }
  const message = FRIENDLY[code] ?? (expose && description ? description : FRIENDLY.server_error);
  const requestId = (ctx.state.requestId as string | undefined) ?? (ctx.get('x-request-id') || undefined);
  sendPage(ctx, status, views.render('error', 'Error', {
    heading: status >= 500 ? 'Something went wrong' : 'We could not continue',
    message: expose && description && FRIENDLY[code] ? `${message} (${description})` : message,
    code,
    requestIdNote: requestId ? ` · request ${requestId}` : '',
  }));
}

/** The provider's own HTML pages, drawn with our views and headers. */
export function providerPages(views: Views): PageRenderer {
  return {
    error(ctx, out, error) {
      const status = (error as { status?: number })?.status ?? 400;
      renderErrorPage(views, ctx, status, out.error, out.error_description);
    },
    logout(ctx, form) {
      const client = (ctx as unknown as { oidc?: { client?: { clientName?: string } } }).oidc?.client;
      sendPage(ctx, 200, views.render('logout', 'Sign out', {
        form,
        clientSuffix: client?.clientName ? ` of ${client.clientName}` : '',
      }));
    },
    loggedOut(ctx) {
      const client = (ctx as unknown as { oidc?: { client?: { clientName?: string } } }).oidc?.client;
      sendPage(ctx, 200, views.render('logged-out', 'Signed out', { clientSuffix: client?.clientName ? ` of ${client.clientName}` : '' }));
    },
  };
}
