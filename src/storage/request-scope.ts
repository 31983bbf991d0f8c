import type { AdapterPayload } from './oidc-adapters/types.js';

/** A row as the SQL adapter reads it (sql-adapter.ts FoundRow). */
export interface PrefetchedRow {
  payload: AdapterPayload | string;
  consumed_at: Date | string | null;
  successor_id: string | null;
  successor_sealed: string | null;
}

/** A refresh-token rotation prepared during a token request, written as one statement at its end. */
export interface PendingRotation {
  /** The successor's id (plaintext: sealed into the row for the grace window, hashed as its key). */
  id: string;
  /** The presented token's id. */
  predecessor: string;
  payload: AdapterPayload;
  expires: Date | null;
}

/** What a token request's refresh-token rotation has noted so far (refresh-token-adapter.ts). */
export interface RefreshRotationState {
  /** The presented token oidc-provider consumed; written with its successor. */
  pendingConsume?: string;
  /** The successor, once oidc-provider stored it. */
  pendingRotation?: PendingRotation;
  /** A retry within the client's grace window: answered with this existing successor. */
  graceSuccessor?: { presentedId: string; successor: string };
}

/**
 * State one protocol request shares between storage adapters, typed (an AsyncLocalStorage per
 * Database, see Database.withRequestScope). Owned by the adapters; the oidc/ layer reaches it
 * only through the ports in token-request-storage.ts.
 */
export interface RequestScope {
  refresh: RefreshRotationState;
  /**
   * Rows read ahead with another (a refresh token's grant, with the token), by `model\0storedId`;
   * an entry without a row means "looked up, not there". Each is used once (sql-adapter.ts).
   */
  prefetched?: Map<string, PrefetchedRow | undefined>;
  /** While set, Redis deletions wait here until the durable (SQL) part of a revocation held. */
  deferredRedisDeletes?: Array<() => Promise<unknown>>;
}
