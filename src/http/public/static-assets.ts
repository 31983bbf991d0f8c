import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Context, Next } from 'koa';
import { projectPath } from '../../project-paths.js';

/**
 * The few scripts our pages load (passkeys), served from our own origin so the pages can keep
 * `script-src 'self'`: no CDN, no inline script. Read once at start; an unknown /assets/ path
 * falls through to the 404 page.
 */

/**
 * The names carry no version, so a browser re-checks within the hour after an upgrade; the
 * scripts are small and only the passkey pages load them.
 */
const ASSETS_MAX_AGE_SECONDS = 3600;

const VIEWS_ASSETS = projectPath('views/assets');

/**
 * @simplewebauthn/browser's UMD bundle (global `SimpleWebAuthnBrowser`). Its package `exports`
 * map hides `dist/`, so resolve the package's main file (script/index.js) and go up from there.
 */
function simpleWebAuthnBundle(): string {
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return path.join(path.dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js');
}

export const ASSET_FILES: Readonly<Record<string, () => string>> = {
  '/assets/simplewebauthn-browser.js': simpleWebAuthnBundle,
  '/assets/passkey.js': () => path.join(VIEWS_ASSETS, 'passkey.js'),
};

export function staticAssets() {
  const bodies = new Map(Object.entries(ASSET_FILES).map(([route, file]) => [route, fs.readFileSync(file())]));
  return async function assets(ctx: Context, next: Next): Promise<void> {
    const body = bodies.get(ctx.path);
    if (!body || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.status = 200;
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = body;
    ctx.set('Cache-Control', `public, max-age=${ASSETS_MAX_AGE_SECONDS}`);
    ctx.set('X-Content-Type-Options', 'nosniff');
    // Only our own pages may load them (no hotlinking into other sites' script tags).
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
  };
}
