import type { Context, Next } from 'koa';

/** Inline styles only; no scripts at all: every page works without JavaScript. */
export const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

export function setHtmlSecurityHeaders(ctx: Context): void {
  ctx.set('Content-Security-Policy', HTML_CSP);
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
  if (ctx.response.is('html')) setHtmlSecurityHeaders(ctx);
  else ctx.set('X-Content-Type-Options', 'nosniff');
}
