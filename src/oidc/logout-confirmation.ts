import type { KoaContextWithOIDC } from 'oidc-provider';
import formPost from 'oidc-provider/lib/response_modes/form_post.js';
import type { PageRenderer } from './page-renderer.js';

/**
 * RP-initiated logout without the confirmation page when the relying party proves which session
 * it means: an `id_token_hint` (signature checked by oidc-provider before this runs) whose `sub`
 * is the session's account and whose `sid` is the session's id for that client. The page exists
 * against cross-site logout (anyone can link to /logout); a valid hint for this very session can
 * only come from the relying party the user signed in to. Without a hint, or with one for another
 * session or account, the page still asks.
 *
 * Skipping uses oidc-provider's own auto-submitting form (what it renders for a logout without a
 * session): the browser posts the logout form, with its xsrf value, to /logout/confirm. The page
 * allows exactly its inline script (CSP `script-src` with the script's hash, added by the library).
 */
type HintPayload = { sub?: unknown; sid?: unknown; aud?: unknown };

/** CSP of the auto-submitting page; oidc-provider appends the hash of its one inline script to `script-src`. */
const AUTO_SUBMIT_CSP = "default-src 'none'; script-src; base-uri 'none'; frame-ancestors 'none'";

export function hintNamesCurrentSession(ctx: KoaContextWithOIDC): boolean {
  const hint = (ctx.oidc.entities as { IdTokenHint?: { payload?: HintPayload } }).IdTokenHint?.payload;
  const session = ctx.oidc.session;
  if (!hint || !session?.accountId || hint.sub !== session.accountId) return false;
  const clientId = Array.isArray(hint.aud) ? hint.aud[0] : hint.aud;
  if (typeof clientId !== 'string' || typeof hint.sid !== 'string') return false;
  return hint.sid === session.sidFor(clientId);
}

/** `features.rpInitiatedLogout.logoutSource`: the confirmation page, or the auto-submitted logout. */
export function logoutSource(pages: PageRenderer, skipWithHint: boolean) {
  return async function renderLogout(ctx: KoaContextWithOIDC, form: string): Promise<void> {
    if (!skipWithHint || !hintNamesCurrentSession(ctx)) return pages.logout(ctx as never, form);
    ctx.set('Content-Security-Policy', AUTO_SUBMIT_CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    const secret = (ctx.oidc.session!.state as { secret: string }).secret;
    formPost(ctx, ctx.oidc.urlFor('end_session_confirm'), { xsrf: secret, logout: 'yes' });
  };
}
