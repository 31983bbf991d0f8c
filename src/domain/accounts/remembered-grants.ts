/**
 * Storage port: which grant a user gave a client, so that a new browser session for the same
 * (account, client) starts from it instead of asking for consent again. One entry per pair, the
 * latest grant wins. An entry is a pointer only: whoever follows it checks that the grant still
 * exists (revoked grants are deleted), so a stale entry never grants anything.
 */
export interface RememberedGrants {
  /** Points (account, client) at `grantId` until `expiresAt` (replaces an earlier entry). */
  remember(accountId: string, clientId: string, grantId: string, expiresAt: Date): Promise<void>;
  /** The grant id remembered for (account, client), unless it expired. */
  find(accountId: string, clientId: string): Promise<string | undefined>;
  /** Drops the entry if it still points at `grantId` (a newer grant is left alone). */
  forget(accountId: string, clientId: string, grantId: string): Promise<void>;
  /** Drops every entry pointing at `grantId` (the grant was revoked). */
  forgetGrant(grantId: string): Promise<void>;
  /** Deletes expired entries; answers how many. */
  sweep(now: Date): Promise<number>;
}
