/**
 * Whether a request path is a provider route, in any spelling oidc-provider itself routes
 * (it matches case-insensitively and with trailing slashes), so our middleware cannot be
 * side-stepped by writing `/Token` or `/token/`.
 */
export function isRoutePath(path: string, canonical: string): boolean {
  return path === canonical || path.toLowerCase().replace(/\/+$/, '') === canonical;
}
