import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RememberedGrants } from '../domain/accounts/remembered-grants.js';
import { ACCOUNT_CLIENT_ID } from './account-client.js';

type GrantLike = {
  jti: string;
  accountId?: string;
  clientId?: string;
  exp?: number;
  remainingTTL?: number;
  resources?: Record<string, string | undefined>;
  getOIDCScope(): string;
  getOIDCClaims(): string[];
  getResourceScope(resource: string): string;
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
};
type GrantClass = new (init: { accountId: string; clientId: string }) => GrantLike;
type OidcContext = KoaContextWithOIDC['oidc'];

/**
 * Consent remembered across browser sessions. oidc-provider finds a grant per browser session
 * only (`session.grantIdFor`), so every new session asked again. Each saved grant is remembered
 * for its (account, client) until it expires (`GRANT_TTL_SECONDS`), and `loadExistingGrant`
 * falls back to it: a new session for the same user and client starts from what they allowed,
 * and only scopes the grant lacks are asked for.
 *
 * The pointer lives in its own table (account_client_grants), not as a query over oidc_models
 * payloads: grant rows are keyed and shaped by the storage adapters (which may hash ids and drop
 * `jti` from payloads), while the grant id we keep is what `Grant.find` takes. A pointer is
 * trusted only after the grant is read back through the provider and names the same account and
 * client; a revoked ("Remove access") or expired grant is gone, so its pointer is dropped and the
 * next sign-in asks again.
 *
 * What carries over to a new browser session is the consent, not the grant itself: the session
 * gets a new grant holding what the remembered one allows. A grant is also a token family —
 * a replayed code or refresh token revokes everything issued under its grant — so one device's
 * replay must not end another device's sign-in.
 */
export function createLoadExistingGrant(remembered?: RememberedGrants) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<GrantLike | undefined> {
    const oidc = ctx.oidc as OidcContext & { result?: { consent?: { grantId?: string } } };
    const clientId = oidc.client!.clientId;
    const Grant = oidc.provider.Grant as unknown as GrantClass & { find(id: string): Promise<GrantLike | undefined> };
    const accountId = oidc.account?.accountId;
    // oidc-provider's own order first: the consent just given, then this session's grant.
    const sessionGrantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(clientId);
    const sessionGrant = sessionGrantId ? await Grant.find(sessionGrantId) : undefined;
    const latest = accountId && remembered ? await rememberedGrant(Grant, remembered, accountId, clientId) : undefined;
    if (sessionGrant) {
      // Consent given since in another browser counts here too.
      if (latest && latest.jti !== sessionGrant.jti && allowAlso(sessionGrant, latest)) await sessionGrant.save();
      return sessionGrant;
    }
    return latest && accountId ? carryOver(Grant, latest, accountId, clientId) : undefined;
  };
}

/** The grant remembered for (account, client), read back and checked; a stale pointer is dropped. */
async function rememberedGrant(
  Grant: { find(id: string): Promise<GrantLike | undefined> },
  remembered: RememberedGrants,
  accountId: string,
  clientId: string,
): Promise<GrantLike | undefined> {
  const grantId = await remembered.find(accountId, clientId);
  if (!grantId) return undefined;
  const grant = await Grant.find(grantId);
  if (grant && grant.accountId === accountId && grant.clientId === clientId) return grant;
  await remembered.forget(accountId, clientId, grantId);
  return undefined;
}

/** Adds to `to` what `from` allows and `to` lacks; true when anything was added. */
function allowAlso(to: GrantLike, from: GrantLike): boolean {
  let added = false;
  const has = new Set(to.getOIDCScope().split(' '));
  const scope = from
    .getOIDCScope()
    .split(' ')
    .filter((s) => s && !has.has(s));
  if (scope.length) {
    to.addOIDCScope(scope.join(' '));
    added = true;
  }
  const hasClaims = new Set(to.getOIDCClaims());
  const claims = from.getOIDCClaims().filter((c) => !hasClaims.has(c));
  if (claims.length) {
    to.addOIDCClaims(claims);
    added = true;
  }
  for (const resource of Object.keys(from.resources ?? {})) {
    const held = new Set(to.getResourceScope(resource).split(' '));
    const more = from
      .getResourceScope(resource)
      .split(' ')
      .filter((s) => s && !held.has(s));
    if (more.length) {
      to.addResourceScope(resource, more.join(' '));
      added = true;
    }
  }
  return added;
}

/** A new, saved grant allowing what `from` allows (its rejections are not carried: they grant nothing). */
async function carryOver(Grant: GrantClass, from: GrantLike, accountId: string, clientId: string): Promise<GrantLike> {
  const fresh = new Grant({ accountId, clientId });
  allowAlso(fresh, from);
  // Saved now: oidc-provider files the grant's id in the session and issues the code under it.
  await fresh.save();
  return fresh;
}

/** Remembers every grant as it is saved (consent given, scopes added), whoever saves it. */
export function rememberSavedGrants(provider: Provider, remembered: RememberedGrants): void {
  const GrantClass = provider.Grant as unknown as { prototype: { save(...args: unknown[]): Promise<string> } };
  const save = GrantClass.prototype.save;
  GrantClass.prototype.save = async function saveAndRemember(this: GrantLike, ...args: unknown[]) {
    const value = await save.apply(this, args);
    // A new grant's `exp` is computed into the stored payload only; its remaining lifetime is known.
    const exp = this.exp ?? (this.remainingTTL ? Math.floor(Date.now() / 1000) + this.remainingTTL : undefined);
    // Not the account page's: its static client has no row in the clients table, and its grant
    // (openid only, first party) is given again at once on every sign-in.
    if (this.accountId && this.clientId && this.clientId !== ACCOUNT_CLIENT_ID && exp) {
      await remembered.remember(this.accountId, this.clientId, this.jti, new Date(exp * 1000));
    }
    return value;
  };
}
