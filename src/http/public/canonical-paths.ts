import { ROUTES } from '../../oidc/provider.js';

/**
 * The protocol routes oidc-provider serves, spelled exactly as we configure them, with the
 * methods it answers on each. oidc-provider itself matches paths case-insensitively and with one
 * trailing slash (`/Token`, `/token/`), so a request spelled another way would reach it but skip
 * every middleware of ours that compares the path. Only an exact match is handed to the provider;
 * every other spelling gets our 404 (or 405 for a known path with a method it does not answer).
 *
 * Keep in step with oidc-provider's lib/helpers/initialize_app.js for the features we enable
 * (test/pages/canonical-paths.test.ts checks each entry reaches the provider).
 */
const GET = ['GET', 'HEAD'];
const CORS_GET = ['GET', 'HEAD', 'OPTIONS'];
const CORS_POST = ['POST', 'OPTIONS'];

/** A `:name` segment matches one non-empty path segment (the interaction uid of the resume route). */
const CANONICAL: ReadonlyArray<{ path: string; methods: readonly string[] }> = [
  { path: ROUTES.authorization, methods: GET },
  { path: `${ROUTES.authorization}/:uid`, methods: GET },
  { path: ROUTES.userinfo, methods: ['GET', 'HEAD', 'POST', 'OPTIONS'] },
  { path: ROUTES.token, methods: CORS_POST },
  { path: ROUTES.jwks, methods: CORS_GET },
  { path: '/.well-known/openid-configuration', methods: CORS_GET },
  { path: '/.well-known/oauth-authorization-server', methods: CORS_GET },
  { path: ROUTES.revocation, methods: CORS_POST },
  { path: ROUTES.introspection, methods: CORS_POST },
  { path: ROUTES.pushed_authorization_request, methods: CORS_POST },
  { path: ROUTES.end_session, methods: GET },
  { path: `${ROUTES.end_session}/confirm`, methods: ['POST'] },
  { path: `${ROUTES.end_session}/success`, methods: GET },
];

/**
 * POST spellings of front-channel endpoints that we answer ourselves (post-to-get.ts) with a 303
 * to the GET form: they are allowed methods of the path, but never handed to the provider.
 */
export const POST_TO_GET_PATHS: readonly string[] = [ROUTES.authorization, ROUTES.end_session];

function matches(pattern: string, path: string): boolean {
  if (!pattern.includes('/:')) return pattern === path;
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return false;
  return want.every((segment, i) => (segment.startsWith(':') ? got[i] !== '' : segment === got[i]));
}

/** The path of a request target (`/token?x=1` → `/token`); an absolute-form target is never canonical. */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** Every protocol request passes here: the static routes are one map lookup. */
const STATIC = new Map(CANONICAL.filter((r) => !r.path.includes('/:')).map((r) => [r.path, r.methods]));
const DYNAMIC = CANONICAL.filter((r) => r.path.includes('/:'));

function methodsOf(path: string): readonly string[] | undefined {
  return STATIC.get(path) ?? DYNAMIC.find((r) => matches(r.path, path))?.methods;
}

/** The methods served on an exactly spelled protocol path, or undefined when the path is not one. */
export function protocolMethods(path: string): readonly string[] | undefined {
  const methods = methodsOf(path);
  if (!methods) return undefined;
  return POST_TO_GET_PATHS.includes(path) ? [...methods, 'POST'] : methods;
}

/** True when the request goes to oidc-provider: an exactly spelled route and a method it serves there. */
export function servedByProvider(method: string | undefined, url: string | undefined): boolean {
  return methodsOf(pathOf(url))?.includes(method ?? 'GET') === true;
}
