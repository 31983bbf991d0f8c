import type { FederatedIdentity, FederatedIdentityRepository } from '../../domain/federation/federated-identity.js';
import { affectedRows } from '../affected-rows.js';
import type { Database } from '../database.js';

const TABLE = 'federated_identities';

interface Row {
  id: string;
  connection_id: string;
  user_id: string;
  subject: string;
  email: string | null;
  linked_at: Date | string;
  last_used_at: Date | string | null;
}

const toIdentity = (r: Row): FederatedIdentity => ({
  id: r.id,
  connectionId: r.connection_id,
  userId: r.user_id,
  subject: r.subject,
  email: r.email,
  linkedAt: new Date(r.linked_at),
  lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
});

/** `federated_identities` (migration 015). A second link of one (connection, subject) is a Conflict. */
export class SqlFederatedIdentityRepository implements FederatedIdentityRepository {
  constructor(private readonly database: Database) {}

  async find(connectionId: string, subject: string): Promise<FederatedIdentity | undefined> {
    const row = (await this.database.db()(TABLE).where({ connection_id: connectionId, subject }).first()) as
      | Row
      | undefined;
    return row ? toIdentity(row) : undefined;
  }

  async insert(identity: Omit<FederatedIdentity, 'linkedAt' | 'lastUsedAt'>): Promise<FederatedIdentity> {
    const [row] = (await this.database
      .db()(TABLE)
      .insert({
        id: identity.id,
        connection_id: identity.connectionId,
        user_id: identity.userId,
        subject: identity.subject,
        email: identity.email,
      })
      .returning('*')) as Row[];
    return toIdentity(row!);
  }

  async listForUser(userId: string): Promise<FederatedIdentity[]> {
    const rows = (await this.database.db()(TABLE).where({ user_id: userId }).orderBy('linked_at')) as Row[];
    return rows.map(toIdentity);
  }

  async touch(id: string): Promise<void> {
    await this.database.db()(TABLE).where({ id }).update({ last_used_at: this.database.db().fn.now() });
  }

  async delete(userId: string, id: string): Promise<boolean> {
    return affectedRows(await this.database.db()(TABLE).where({ id, user_id: userId }).delete()) > 0;
  }
}
