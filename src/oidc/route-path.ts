/**
 * Whether oidc-provider would route `path` to `route`: its router matches paths
 * case-insensitively and with one trailing slash (`/Token`, `/token/`). For middleware that must
 * decide before the provider resolved the route (and `ctx.oidc.route` exists): comparing
 * `ctx.path` with the configured spelling would miss those spellings. The public port already
 * answers them with 404 (http/public/canonical-paths.ts); this keeps the middleware right on its own.
 * Folding with toLowerCase can only match more than the provider does, never less.
 */
export function routesTo(path: string, route: string): boolean {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.toLowerCase() === route.toLowerCase();
}
