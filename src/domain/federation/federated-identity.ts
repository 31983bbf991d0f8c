/** An upstream identity linked to a local account: (connection, upstream subject or NameID) → one account. */
export interface FederatedIdentity {
  id: string;
  connectionId: string;
  userId: string;
  /** The upstream `sub` (OIDC), user id (OAuth 2.0) or NameID (SAML). */
  subject: string;
  /** The upstream's email at link time (for display; never used to find the account). */
  email: string | null;
  linkedAt: Date;
  lastUsedAt: Date | null;
}

/** Storage port for linked identities (storage/repositories/federated-identities-repository.ts). */
export interface FederatedIdentityRepository {
  find(connectionId: string, subject: string): Promise<FederatedIdentity | undefined>;
  /** Fails with a `conflict` error when the (connection, subject) pair is already linked. */
  insert(identity: Omit<FederatedIdentity, 'linkedAt' | 'lastUsedAt'>): Promise<FederatedIdentity>;
  listForUser(userId: string): Promise<FederatedIdentity[]>;
  touch(id: string): Promise<void>;
  delete(userId: string, id: string): Promise<boolean>;
}
