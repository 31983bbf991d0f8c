/**
 * Ports through which the protocol layer (oidc/) drives request-scoped storage work without
 * knowing how it is stored. Implemented in storage/oidc-adapters/token-request-storage.ts.
 */

/** How a token request's refresh-token rotation ended, once written. */
export type RotationOutcome =
  /** Nothing special: no rotation, or the rotation was written. */
  | { kind: 'done' }
  /** A retry within the client's grace window, or a lost race with one: answer with this successor. */
  | { kind: 'grace'; refreshToken: string }
  /**
   * The presented refresh token was consumed by a concurrent request (the conditional rotation
   * found it consumed) and the client has no grace window: the family must be revoked.
   */
  | { kind: 'lost'; grantId: string | undefined };

export interface TokenRequestStorage {
  /** Runs one token request in its own storage scope. */
  inScope<T>(fn: () => Promise<T>): Promise<T>;
  /** Writes the rotation the request prepared (the last write before the answer). */
  finish(): Promise<RotationOutcome>;
}

export interface RevocationStorage {
  /** Runs one revocation request in a scope that holds back deletions in the ephemeral store. */
  inScope<T>(fn: () => Promise<T>): Promise<T>;
  /** Carries out the held-back deletions, once the durable revocation held. */
  finish(): Promise<void>;
}
