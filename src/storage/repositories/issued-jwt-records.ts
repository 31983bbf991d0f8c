import type { OidcAdapter } from '../oidc-adapters/types.js';

/**
 * Client-credentials JWT access tokens are recorded under their jti in the ClientCredentials
 * model's store (Redis or SQL) as they are signed (oidc/jwt-access-token-records.ts); revocation
 * deletes the record and it expires with the token. "Still recorded" therefore means "not revoked".
 */
export class IssuedJwtRecords {
  private readonly adapter: OidcAdapter;
  constructor(adapterFor: (model: string) => OidcAdapter) {
    this.adapter = adapterFor('ClientCredentials');
  }

  async isRecorded(jti: string): Promise<boolean> {
    return (await this.adapter.find(jti)) !== undefined;
  }
}
