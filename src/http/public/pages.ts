import type { Context } from 'koa';
import type { PageRenderer } from '../../oidc/page-renderer.js';
import { type PageCsp, setHtmlSecurityHeaders } from '../middleware/security-headers.js';
import type { Views } from '../views.js';
import { clientWayOut, START_AGAIN, type ClientLike, type WayOut } from './way-out.js';

/** What a person reads first, in plain words; the OAuth code and its description go under "Details". */
const FRIENDLY: Record<string, string> = {
  invalid_request: 'The sign-in request from the application is not valid.',
  invalid_client: 'The application is not registered with this server.',
  invalid_redirect_uri: 'The application asked to return to an address it has not registered.',
  unauthorized_client: 'The application is not allowed to do this.',
  access_denied: 'Access was denied.',
  invalid_scope: 'The application asked for permissions that do not exist.',
  invalid_target: 'The application asked for access to a service that is not registered here.',
  unsupported_response_type: 'The application asked to sign in in a way this server does not support.',
  unsupported_response_mode: 'The application asked to sign in in a way this server does not support.',
  invalid_request_uri: 'This sign-in link has expired or was already used. Go back to the application and start again.',
  invalid_request_object: 'The sign-in request from the application is not valid.',
  login_required: 'You need to sign in.',
  consent_required: 'The application needs your permission first.',
  interaction_required: 'You need to sign in.',
  server_error: 'Something went wrong on our side. Please try again.',
  session_not_found: 'Your sign-in attempt expired. Go back to the application and start again.',
  temporarily_unavailable: 'The service is temporarily unavailable. Please try again shortly.',
  service_unavailable: 'The service is busy right now. Please try again in a moment.',
  too_many_requests: 'Too many sign-in attempts from your network. Please wait a minute and try again.',
  forbidden: 'This form expired or did not come from this site. Go back and try again.',
  not_found: 'There is no page at this address.',
  method_not_allowed: 'This address cannot be used this way.',
  payload_too_large: 'The request was too large.',
  unsupported_media_type: 'The request was not in a form this server understands.',
  federation_failed:
    'Signing in with the other service did not work, or this sign-in link has expired or was already used. Start signing in again from the app.',
};

/** For a 4xx whose code has no friendly text of its own. */
const COULD_NOT_CONTINUE = 'The request could not be completed.';

declare module 'koa' {
  interface DefaultState {
    /** Set once a page knows which application the person came from (interaction routes). */
    wayOut?: WayOut;
  }
}

export function sendPage(ctx: Context, status: number, html: string, csp?: PageCsp): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = html;
  setHtmlSecurityHeaders(ctx, csp);
}

/** A caller that asks for JSON (an API client, `Accept: application/json`) rather than a page. */
export function prefersJson(ctx: Context): boolean {
  return ctx.accepts('html', 'json') === 'json';
}

/**
 * An error as a page for people (or as `{ error, error_description }` for a caller that prefers
 * JSON): a plain sentence first, a way out ("Back to <app>" or "Start again"), and the technical
 * detail — code, description, request id — folded under "Details". 5xx never show a description.
 */
export function renderErrorPage(
  views: Views,
  ctx: Context,
  status: number,
  code: string,
  description?: string,
  wayOut?: WayOut,
): void {
  const expose = status < 500;
  const detail = expose ? description : undefined;
  if (prefersJson(ctx)) {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = { error: code, error_description: detail ?? FRIENDLY.server_error };
    return;
  }
  const message = FRIENDLY[code] ?? (expose ? COULD_NOT_CONTINUE : FRIENDLY.server_error);
  const requestId = (ctx.state?.requestId as string | undefined) ?? (ctx.get('x-request-id') || undefined);
  const out = wayOut ?? ctx.state?.wayOut ?? START_AGAIN;
  sendPage(
    ctx,
    status,
    views.render('error', status === 404 ? 'Page not found' : 'Error', {
      heading: status === 404 ? 'Page not found' : status >= 500 ? 'Something went wrong' : 'We could not continue',
      message,
      wayOutHref: out.href,
      wayOutLabel: out.label,
      code,
      detail,
      requestId,
    }),
  );
}

const clientOf = (ctx: Context) => (ctx as unknown as { oidc?: { client?: ClientLike } }).oidc?.client;

/** The provider's own HTML pages, drawn with our views and headers. */
export function providerPages(views: Views): PageRenderer {
  return {
    error(ctx, out, error) {
      const status = (error as { status?: number })?.status ?? 400;
      renderErrorPage(views, ctx, status, out.error, out.error_description, clientWayOut(clientOf(ctx)));
    },
    logout(ctx, form) {
      const client = clientOf(ctx);
      sendPage(
        ctx,
        200,
        views.render('logout', 'Sign out', {
          form,
          clientSuffix: client?.clientName ? ` of ${client.clientName}` : '',
        }),
      );
    },
    loggedOut(ctx) {
      const client = clientOf(ctx);
      const onwards = client ? clientWayOut(client) : { href: '/', label: 'Continue' };
      sendPage(
        ctx,
        200,
        views.render('logged-out', 'Signed out', {
          clientSuffix: client?.clientName ? ` of ${client.clientName}` : '',
          onwardsHref: onwards.href,
          onwardsLabel: onwards.label,
        }),
      );
    },
  };
}
