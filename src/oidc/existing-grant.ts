import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { RememberedGrants } from '../domain/accounts/remembered-grants.js';

type GrantLike = {
  jti: string;
  accountId?: string;
  clientId?: string;
  exp?: number;
  remainingTTL?: number;
  getOIDCScope(): string;
};
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
 */
export function createLoadExistingGrant(remembered?: RememberedGrants) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<GrantLike | undefined> {
    const oidc = ctx.oidc as OidcContext & { result?: { consent?: { grantId?: string } } };
    const clientId = oidc.client!.clientId;
    const { Grant } = oidc.provider;
    // oidc-provider's own order first: the consent just given, then this session's grant.
    const sessionGrantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(clientId);
    if (sessionGrantId) {
      const grant = (await Grant.find(sessionGrantId)) as GrantLike | undefined;
      if (grant) return grant;
    }
    const accountId = oidc.account?.accountId;
    if (!accountId || !remembered) return undefined;
    const grantId = await remembered.find(accountId, clientId);
    if (!grantId) return undefined;
    const grant = (await Grant.find(grantId)) as GrantLike | undefined;
    if (grant && grant.accountId === accountId && grant.clientId === clientId) return grant;
    await remembered.forget(accountId, clientId, grantId);
    return undefined;
  };
}

/** Remembers every grant as it is saved (consent given, scopes added), whoever saves it. */
export function rememberSavedGrants(provider: Provider, remembered: RememberedGrants): void {
  const GrantClass = provider.Grant as unknown as { prototype: { save(...args: unknown[]): Promise<string> } };
  const save = GrantClass.prototype.save;
  GrantClass.prototype.save = async function saveAndRemember(this: GrantLike, ...args: unknown[]) {
    const value = await save.apply(this, args);
    // A new grant's `exp` is computed into the stored payload only; its remaining lifetime is known.
    const exp = this.exp ?? (this.remainingTTL ? Math.floor(Date.now() / 1000) + this.remainingTTL : undefined);
    if (this.accountId && this.clientId && exp) {
      await remembered.remember(this.accountId, this.clientId, this.jti, new Date(exp * 1000));
    }
    return value;
  };
}
