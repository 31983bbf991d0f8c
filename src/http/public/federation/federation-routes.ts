import Router from '@koa/router';
import type { Context } from 'koa';
import { GatehouseError } from '../../../domain/errors.js';
import { FEDERATION_COOKIE, type FederatedSignIn } from '../../../domain/federation/federated-sign-in.js';
import { auditContext } from '../../middleware/audit-context.js';
import { readLimited } from '../../middleware/body-parsers.js';
import type { Views } from '../../views.js';
import { renderErrorPage } from '../pages.js';

/** Paths served here (public-app.ts sends them to this router, never to the provider). */
export const FEDERATION_PATHS = /^\/(federation|saml)\//;

/** An authorization response by form_post is a few parameters. */
const FORM_POST_LIMIT_BYTES = 16 * 1024;
/** A SAMLResponse (base64 XML, signed, perhaps encrypted, with certificates) stays well under this. */
const SAML_RESPONSE_LIMIT_BYTES = 512 * 1024;

/** The cookie carrying an IdP-initiated sign-in's handle to the interaction the account page starts next. */
export const UNSOLICITED_COOKIE = 'gatehouse.idp_initiated';

export interface FederationPagesDeps {
  views: Views;
  federation?: FederatedSignIn;
}

/**
 * Where upstreams send the browser back:
 * - GET /federation/:slug/callback (OIDC / OAuth 2.0, query response mode);
 * - POST /federation/:slug/callback (`form_post`, e.g. Apple) and POST /saml/:slug/acs (SAML
 *   HTTP-POST): cross-site, so without SameSite=Lax cookies; the body is held and the browser is
 *   bounced once to GET /federation/:slug/callback?resume=…, which carries the binding cookie.
 * A known, unspent request leads back to its interaction, whose sign-in page shows the outcome
 * (signed in, a link to confirm, or why not); anything else is a page with a way back.
 * GET /saml/:slug/metadata serves the SP metadata of a SAML connection.
 */
export function federationRoutes(deps: FederationPagesDeps): Router {
  const router = new Router();

  const bounce = (limit: number) => async (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store');
    const federation = deps.federation;
    if (!federation) throw new GatehouseError('not_found', 'no such page');
    if (!ctx.is('application/x-www-form-urlencoded'))
      throw new GatehouseError(
        'unsupported_media_type',
        'the request must be a form (application/x-www-form-urlencoded)',
      );
    const slug = String(ctx.params.slug);
    const body = await readLimited(ctx, limit);
    const handle = await federation.holdCrossSitePost(slug, body);
    ctx.status = 303;
    ctx.redirect(`/federation/${encodeURIComponent(slug)}/callback?resume=${handle}`);
  };
  router.post('/federation/:slug/callback', bounce(FORM_POST_LIMIT_BYTES));
  router.post('/saml/:slug/acs', bounce(SAML_RESPONSE_LIMIT_BYTES));

  router.get('/federation/:slug/callback', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    const slug = String(ctx.params.slug);
    const federation = deps.federation;
    const resume = typeof ctx.query.resume === 'string' ? ctx.query.resume : undefined;
    const params = !federation
      ? undefined
      : resume
        ? await federation.takeCrossSitePost(slug, resume)
        : new URLSearchParams(ctx.querystring);
    const next =
      federation && params
        ? await federation.callback(
            slug,
            params,
            ctx.cookies.get(FEDERATION_COOKIE),
            auditContext(ctx),
            resume !== undefined,
          )
        : undefined;
    if (!next)
      return renderErrorPage(
        deps.views,
        ctx,
        400,
        // Its own plain sentence (not invalid_request's, which blames the app's request).
        'federation_failed',
        'This sign-in link has expired or was already used. Start signing in again from the app.',
        { href: '/', label: 'Start again' },
      );
    ctx.status = 303;
    if (next.kind === 'unsolicited') {
      // IdP-initiated: no app asked. The account page's sign-in takes the outcome over.
      ctx.cookies.set(UNSOLICITED_COOKIE, next.handle, {
        httpOnly: true,
        sameSite: 'lax',
        secure: federation!.secureCookies,
        path: '/interaction/',
        maxAge: 300_000,
      });
      return ctx.redirect('/account');
    }
    ctx.redirect(`/interaction/${next.interactionUid}?method=${encodeURIComponent(next.strategyId)}`);
  });

  router.get('/saml/:slug/metadata', async (ctx) => {
    const xml = deps.federation ? await deps.federation.samlMetadata(String(ctx.params.slug)) : undefined;
    if (!xml) throw new GatehouseError('not_found', 'no such SAML connection');
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.type = 'application/samlmetadata+xml';
    ctx.body = xml;
  });
  return router;
}
