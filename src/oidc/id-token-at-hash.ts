import type Provider from 'oidc-provider';

/**
 * oidc-provider adds at_hash only to ID tokens from the authorization endpoint (hybrid flows).
 * Relying parties that bind the ID token to the access token expect it from the token endpoint
 * too, so: remember the value each access token was issued as, and put it into the ID token
 * issued in the same request (the library hashes it with the ID token's algorithm).
 */
export function addAtHashToIdTokens(provider: Provider): void {
  const issuedValue = new WeakMap<object, string>();
  const AccessToken = provider.AccessToken as unknown as { prototype: { save(...args: unknown[]): Promise<string> } };
  const save = AccessToken.prototype.save;
  AccessToken.prototype.save = async function saveAndRemember(this: object, ...args: unknown[]) {
    const value = await save.apply(this, args);
    issuedValue.set(this, value);
    return value;
  };

  type IdTokenLike = {
    ctx?: { oidc?: { entities?: { AccessToken?: object } } };
    extra: Record<string, unknown>;
    set(k: string, v: unknown): void;
  };
  const IdToken = provider.IdToken as unknown as { prototype: { issue(opts?: { use?: string }): Promise<string> } };
  const issue = IdToken.prototype.issue;
  IdToken.prototype.issue = async function issueWithAtHash(this: IdTokenLike, opts?: { use?: string }) {
    if (opts?.use === 'idtoken' && !this.extra.at_hash) {
      const at = this.ctx?.oidc?.entities?.AccessToken;
      const value = at ? issuedValue.get(at) : undefined;
      if (value) this.set('at_hash', value);
    }
    return issue.call(this, opts);
  };
}
