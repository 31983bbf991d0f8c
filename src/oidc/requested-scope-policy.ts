import { errors } from 'oidc-provider';
import { OIDC_SCOPES } from '../domain/clients/registered-scope-policy.js';
import type { Resources } from '../domain/resources/resources.js';

type ScopeCtx = {
  oidc?: { route?: string; params?: { scope?: unknown; resource?: unknown; grant_type?: unknown } };
};
type ScopeClient = { registered_scope?: string };

/** Where a `scope` parameter asks for access: the token request and the authorization request (also pushed). */
const CHECKED_ROUTES = new Set(['token', 'authorization', 'pushed_authorization_request']);

/**
 * No silent narrowing (RFC 6749 §3.3, §5.2): a requested scope that no API (nor OpenID Connect)
 * declares, or that the client is not registered for, is `invalid_scope` — oidc-provider would
 * otherwise drop it and issue a token without it. With a `resource` parameter the scope must be
 * one of that API's. Without a `resource` an access token is for OpenID Connect only (an opaque
 * token for userinfo), so a declared API scope is not in it — and the response's `scope`, always
 * present (token-response-scope.ts), says so. RBAC is different on purpose: a scope the client may ask for but the user
 * (or client) does not hold is left out of the token, and the response's `scope` says so.
 *
 * Called from the resource-indicator hooks, which oidc-provider runs on every request that can
 * carry a scope (defaultResource when no resource is named, getResourceServerInfo otherwise);
 * it runs once per request.
 */
export function requestedScopeCheck(resources: Resources) {
  const checked = new WeakMap<object, Promise<void>>();
  return function checkRequestedScope(ctx: unknown, client: unknown): Promise<void> {
    if (!ctx || typeof ctx !== 'object') return Promise.resolve();
    let done = checked.get(ctx);
    if (!done) {
      done = check(resources, ctx as ScopeCtx, client as ScopeClient);
      checked.set(ctx, done);
    }
    return done;
  };
}

async function check(resources: Resources, ctx: ScopeCtx, client: ScopeClient): Promise<void> {
  const oidc = ctx.oidc;
  if (!oidc?.route || !CHECKED_ROUTES.has(oidc.route) || typeof oidc.params?.scope !== 'string') return;
  const apiScopes = oidc.params.scope.split(' ').filter((s) => s && !OIDC_SCOPES.includes(s));
  if (!apiScopes.length) return;

  const named =
    oidc.params.resource === undefined
      ? []
      : [oidc.params.resource].flat().filter((r): r is string => typeof r === 'string');
  const perResource = await Promise.all(named.map((r) => resources.scopesOf(r)));
  // An unknown indicator is invalid_target, answered by getResourceServerInfo.
  if (perResource.some((s) => s === undefined)) return;
  const declared = named.length ? new Set(perResource.flatMap((s) => s ?? [])) : await resources.declaredScopes();
  const undeclared = apiScopes.filter((s) => !declared.has(s));
  if (undeclared.length) {
    const by = named.length ? `the requested resource (${named.join(' ')})` : 'any registered API';
    throw new errors.InvalidScope(`scope ${undeclared.join(' ')} is not declared by ${by}`, undeclared.join(' '));
  }
  const registered = client.registered_scope?.split(' ');
  const unregistered = registered ? apiScopes.filter((s) => !registered.includes(s)) : [];
  if (unregistered.length) {
    throw new errors.InvalidScope(
      `client is not registered for scope ${unregistered.join(' ')}`,
      unregistered.join(' '),
    );
  }
}
