import { decodeJwt } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * `offline_access` without `prompt=consent` (OIDC Core §11 allows "other conditions").
 *
 * oidc-provider drops `offline_access` from every authorization request that lacks
 * `prompt=consent` (actions/authorization/scopes.js), before it knows the account or the grant.
 * Gatehouse keeps it when the user need not be asked again:
 * - the client is `first_party` (its consent is implied; the interaction grants it — so not with
 *   `prompt=none`, which allows no interaction), or
 * - the user's stored grant for this client already includes `offline_access`.
 * Otherwise it is still dropped, explicitly: no refresh token, and the README says to send
 * `prompt=consent` to get one.
 *
 * In two steps, because the account is not known when the scope is checked:
 * 1. `keepRequestedOfflineAccess` (run after the library's scope check, at /authorize and /par)
 *    puts `offline_access` back when the client asked for it and may use refresh tokens — so a
 *    pushed request and the interaction both remember that it was asked for;
 * 2. `decideOfflineAccess` (run where the grant is loaded, before any prompt or code) removes it
 *    again unless one of the conditions above holds.
 */
const OFFLINE = 'offline_access';

type OidcLike = KoaContextWithOIDC['oidc'] & { body?: Record<string, unknown> };
type ClientLike = { grantTypeAllowed(type: string): boolean; scope?: string; first_party?: boolean };

const scopesOf = (scope: unknown): string[] => (typeof scope === 'string' ? scope.split(' ').filter(Boolean) : []);

/** The scope as the client sent it (request parameters, a request object, or a pushed request). */
function requestedScope(ctx: KoaContextWithOIDC): string[] {
  const oidc = ctx.oidc as OidcLike;
  const entities = oidc.entities as { PushedAuthorizationRequest?: { request?: string } };
  const pushed = entities.PushedAuthorizationRequest?.request;
  const source = (ctx.method === 'POST' ? oidc.body : ctx.query) as Record<string, unknown> | undefined;
  // Already verified by the library (pushed requests when stored, request objects before this runs).
  const requestObject = pushed ?? (typeof source?.request === 'string' ? source.request : undefined);
  if (requestObject) {
    try {
      return scopesOf(decodeJwt(requestObject).scope);
    } catch {
      return [];
    }
  }
  return scopesOf(source?.scope);
}

function withScope(current: string | undefined, add: boolean): string | undefined {
  const scopes = scopesOf(current).filter((s) => s !== OFFLINE);
  if (add) scopes.push(OFFLINE);
  return scopes.length ? scopes.join(' ') : undefined;
}

/** Step 1: undo the library's unconditional drop when the client asked and may hold refresh tokens. */
export function keepRequestedOfflineAccess(ctx: KoaContextWithOIDC): void {
  const { params } = ctx.oidc;
  const client = ctx.oidc.client as unknown as ClientLike | undefined;
  if (!client || scopesOf(params!.scope).includes(OFFLINE) || !requestedScope(ctx).includes(OFFLINE)) return;
  if (!client.grantTypeAllowed('refresh_token')) return;
  if (
    !String(params!.response_type ?? '')
      .split(' ')
      .includes('code')
  )
    return;
  // A client registered without offline_access was refused it by the library's allow-list check.
  if (client.scope && !scopesOf(client.scope).includes(OFFLINE)) return;
  params!.scope = withScope(params!.scope as string | undefined, true);
}

/** Step 2: with the grant known, keep `offline_access` only when no consent is needed for it. */
export function decideOfflineAccess(ctx: KoaContextWithOIDC, grant: { getOIDCScope(): string } | undefined): void {
  const { params } = ctx.oidc;
  if (!scopesOf(params!.scope).includes(OFFLINE) || ctx.oidc.prompts.has('consent')) return;
  const client = ctx.oidc.client as unknown as ClientLike;
  const granted = grant ? scopesOf(grant.getOIDCScope()).includes(OFFLINE) : false;
  if (granted) return;
  // A first-party grant gains it in the (automatic) consent step, which prompt=none cannot show:
  // asking would turn a silent request into consent_required, so it is dropped as before.
  if (client.first_party === true && !ctx.oidc.prompts.has('none')) return;
  params!.scope = withScope(params!.scope as string | undefined, false);
}

/**
 * oidc-provider runs `extraParams` validators after its scope check on /authorize and /par —
 * the one hook there that sees the client; this entry exists for that hook, its value is ignored.
 */
export const OFFLINE_ACCESS_HOOK_PARAM = 'gatehouse_offline_access_check';

export const offlineAccessExtraParams = {
  [OFFLINE_ACCESS_HOOK_PARAM]: async (ctx: KoaContextWithOIDC) => {
    keepRequestedOfflineAccess(ctx);
  },
};

/** Wraps `loadExistingGrant` so the offline_access decision is taken as the grant is loaded. */
export function decidingOfflineAccess<G extends { getOIDCScope(): string }>(
  load: (ctx: KoaContextWithOIDC) => Promise<G | undefined>,
) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<G | undefined> {
    const grant = await load(ctx);
    decideOfflineAccess(ctx, grant);
    return grant;
  };
}
