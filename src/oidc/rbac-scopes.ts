import type { Authorization } from '../domain/authorization/authorization.js';

type ProviderCtx = {
  oidc?: {
    route?: string;
    params?: { grant_type?: unknown };
    account?: { accountId?: string };
    grant?: { accountId?: string };
    session?: { accountId?: string };
  };
};

/**
 * RBAC for API tokens: the scopes of `resource` the current subject holds, or undefined when
 * the API is not RBAC-enforced (no role or direct grant names it) and every scope stays allowed.
 *
 * - client_credentials: the client's roles.
 * - user flows: the user's roles and direct grants. At the token endpoint the account is loaded
 *   before the resource is resolved (authorization_code and refresh_token), so each token is cut
 *   to what the user holds *now*; at the authorization endpoint the signed-in session's account
 *   narrows what consent asks for. Before sign-in nothing is known and nothing is narrowed: the
 *   token endpoint still enforces.
 * - a token request whose subject cannot be determined holds nothing on an enforced API.
 *
 * Read per call (no cache), so a role change applies to the next token.
 */
export async function rbacHeldScopes(
  authorization: Authorization,
  ctx: unknown,
  clientId: string,
  resource: string,
): Promise<Set<string> | undefined> {
  // oidc-provider asks for the same resource more than once per request: answer it once.
  const memo =
    ctx && typeof ctx === 'object' ? (perRequest.get(ctx) ?? perRequest.set(ctx, new Map()).get(ctx)!) : undefined;
  const known = memo?.get(resource);
  if (known) return known;
  const answer = lookup(authorization, ctx, clientId, resource);
  memo?.set(resource, answer);
  return answer;
}

const perRequest = new WeakMap<object, Map<string, Promise<Set<string> | undefined>>>();

async function lookup(
  authorization: Authorization,
  ctx: unknown,
  clientId: string,
  resource: string,
): Promise<Set<string> | undefined> {
  const oidc = (ctx as ProviderCtx | undefined)?.oidc;
  if (oidc?.params?.grant_type === 'client_credentials') return authorization.heldScopes('client', clientId, resource);
  const accountId = oidc?.account?.accountId ?? oidc?.grant?.accountId ?? oidc?.session?.accountId;
  if (accountId) return authorization.heldScopes('user', accountId, resource);
  if (oidc?.route === 'token') return (await authorization.isEnforced(resource)) ? new Set() : undefined;
  return undefined;
}
