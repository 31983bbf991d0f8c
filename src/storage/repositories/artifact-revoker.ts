import type { Database } from '../database.js';
import type { UserSessionRevoker } from '../../domain/accounts/user.js';
import type { GrantRevoker } from '../../domain/accounts/user-sessions.js';
import type { ClientTokenRevoker } from '../../domain/clients/clients.js';
import { MODEL_ROUTING } from '../oidc-adapters/model-routing.js';
import type { OidcAdapter } from '../oidc-adapters/types.js';

/**
 * Ends everything a user (or a client) holds: their grants and every token issued under them
 * (wherever the token's model lives), and their browser sessions.
 */
export class ArtifactRevoker implements UserSessionRevoker, ClientTokenRevoker, GrantRevoker {
  private readonly adapters: OidcAdapter[];
  constructor(
    private readonly database: Database,
    adapterFor: (model: string) => OidcAdapter,
  ) {
    this.adapters = Object.keys(MODEL_ROUTING)
      .filter((m) => m !== 'Client')
      .map(adapterFor);
  }

  private async revokeGrants(grantIds: string[]): Promise<void> {
    for (const grantId of grantIds) {
      await Promise.all(this.adapters.map((a) => a.revokeByGrantId(grantId)));
    }
  }

  /** One grant: every token issued under it (wherever it lives), then the grant itself. */
  async revokeGrant(grantId: string): Promise<void> {
    await this.revokeGrants([grantId]);
    await this.database.db()('oidc_models').where({ model: 'Grant', id: grantId }).delete();
  }

  async revokeAllFor(userId: string): Promise<void> {
    const grants = await this.database
      .db()('oidc_models')
      .where({ model: 'Grant' })
      .whereRaw("payload->>'accountId' = ?", [userId])
      .pluck('id');
    await this.revokeGrants(grants);
    await this.database
      .db()('oidc_models')
      .whereIn('model', ['Grant', 'Session'])
      .whereRaw("payload->>'accountId' = ?", [userId])
      .delete();
  }

  async revokeAllForClient(clientId: string): Promise<void> {
    const grants = await this.database
      .db()('oidc_models')
      .where({ model: 'Grant' })
      .whereRaw("payload->>'clientId' = ?", [clientId])
      .pluck('id');
    await this.revokeGrants(grants);
    await this.database
      .db()('oidc_models')
      .where({ model: 'Grant' })
      .whereRaw("payload->>'clientId' = ?", [clientId])
      .delete();
  }
}
