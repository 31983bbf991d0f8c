import Router from '@koa/router';
import { FEDERATION_COOKIE, type FederatedSignIn } from '../../../domain/federation/federated-sign-in.js';
import { auditContext } from '../../middleware/audit-context.js';
import type { Views } from '../../views.js';
import { renderErrorPage } from '../pages.js';

/** Paths served here (public-app.ts sends them to this router, never to the provider). */
export const FEDERATION_PATHS = /^\/federation\//;

export interface FederationPagesDeps {
  views: Views;
  federation?: FederatedSignIn;
}

/**
 * GET /federation/:slug/callback: where an upstream OIDC / OAuth 2.0 provider sends the browser
 * back. A known, unspent state leads back to its interaction, whose sign-in page shows the
 * outcome (signed in, a link to confirm, or why not); anything else is a page with a way back.
 */
export function federationRoutes(deps: FederationPagesDeps): Router {
  const router = new Router();
  router.get('/federation/:slug/callback', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    const back = deps.federation
      ? await deps.federation.callback(
          String(ctx.params.slug),
          ctx.querystring,
          ctx.cookies.get(FEDERATION_COOKIE),
          auditContext(ctx),
        )
      : undefined;
    if (!back)
      return renderErrorPage(
        deps.views,
        ctx,
        400,
        'invalid_request',
        'This sign-in link has expired or was already used. Start signing in again from the app.',
        { href: '/', label: 'Start again' },
      );
    ctx.status = 303;
    ctx.redirect(`/interaction/${back.interactionUid}?method=${encodeURIComponent(back.strategyId)}`);
  });
  return router;
}
