import type { Context, Next } from 'koa';
import type { Views } from '../views.js';
import { sendPage } from './pages.js';

/** `/`: a small page saying what this server is, with the links a developer looks for first. */
export function landingPage(views: Views, paths: { discovery: string; jwks: string }) {
  return async function home(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    sendPage(ctx, 200, views.render('home', 'Welcome', { discoveryHref: paths.discovery, jwksHref: paths.jwks }));
  };
}
