import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';
import type { RememberedGrants } from '../../domain/accounts/remembered-grants.js';

const TABLE = 'account_client_grants';

/**
 * `account_client_grants`: (account, client) → grant id. Rows go with their user or client
 * (foreign keys, on delete cascade); expired rows are swept.
 */
export class SqlRememberedGrants implements RememberedGrants {
  constructor(private readonly database: Database) {}

  async remember(accountId: string, clientId: string, grantId: string, expiresAt: Date): Promise<void> {
    await this.database
      .db()(TABLE)
      .insert({ account_id: accountId, client_id: clientId, grant_id: grantId, expires_at: expiresAt })
      .onConflict(['account_id', 'client_id'])
      .merge(['grant_id', 'expires_at']);
  }

  async find(accountId: string, clientId: string): Promise<string | undefined> {
    const row = (await this.database
      .db()(TABLE)
      .where({ account_id: accountId, client_id: clientId })
      .andWhere('expires_at', '>', new Date())
      .first('grant_id')) as { grant_id: string } | undefined;
    return row?.grant_id;
  }

  async forget(accountId: string, clientId: string, grantId: string): Promise<void> {
    await this.database.db()(TABLE).where({ account_id: accountId, client_id: clientId, grant_id: grantId }).delete();
  }

  async forgetGrant(grantId: string): Promise<void> {
    await this.database.db()(TABLE).where({ grant_id: grantId }).delete();
  }

  async sweep(now: Date): Promise<number> {
    return affectedRows(await this.database.db()(TABLE).where('expires_at', '<=', now).delete());
  }
}
