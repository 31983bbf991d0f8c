import type { ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';

/**
 * Inline styles only; no scripts at all: every page works without JavaScript. Pages that need
 * WebAuthn load our own script files (`scriptSelf`), never inline script.
 */
export const HTML_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

export interface PageCsp {
  /** Further image origins for one page (a client's registered logo on the consent page). */
  imgSrc?: string[];
  /** The page loads our own scripts (`/assets/…`): `script-src 'self'` and `connect-src 'self'`. */
  scriptSelf?: boolean;
}

export function setHtmlSecurityHeaders(ctx: Context, options: PageCsp = {}): void {
  const imgSrc = options.imgSrc?.filter((o) => /^https?:\/\/[^\s;,']+$/.test(o)) ?? [];
  let csp = imgSrc.length
    ? HTML_CSP.replace("img-src 'self' data:", `img-src 'self' data: ${imgSrc.join(' ')}`)
    : HTML_CSP;
  if (options.scriptSelf) csp += "; script-src 'self'; connect-src 'self'";
  ctx.set('Content-Security-Policy', csp);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
}

/** Security headers on every response of an app that serves HTML pages. */
export async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  await next();
  // A page that set its own (sendPage, e.g. with a client's logo origin) keeps it.
  if (ctx.response.is('html')) {
    if (!ctx.response.get('content-security-policy')) setHtmlSecurityHeaders(ctx);
  } else ctx.set('X-Content-Type-Options', 'nosniff');
}

/**
 * For every response oidc-provider writes itself (JSON, redirects and its form_post page); our
 * pages drawn for it (errors, logout) replace these with the HTML set above. `script-src` is
 * left empty (no script) on purpose: oidc-provider appends the sha256 hash of its form_post
 * auto-submit script to an existing script-src directive, so that one inline script, and no other,
 * may run. The form's action (the client's redirect_uri) is not limited: form-action stays open.
 */
export const PROTOCOL_CSP = "default-src 'none'; script-src; base-uri 'none'; frame-ancestors 'none'";

export function setProtocolSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', PROTOCOL_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}
