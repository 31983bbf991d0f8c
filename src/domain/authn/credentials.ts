/**
 * What a person signs in with, beyond the account itself: one row per credential in the
 * `credentials` table (never columns on `users`), so a new method is a new `type`, not a
 * migration of the account. Secrets are sealed under the KEK by the domain before they reach
 * storage; storage never sees a TOTP secret in the clear.
 */
export type CredentialType = 'password' | 'totp' | 'recovery_codes' | 'passkey';
/** The second factors among them (what the admin API and the account page list as factors). */
export type FactorType = Exclude<CredentialType, 'password'>;

export interface Credential {
  id: string;
  userId: string;
  type: CredentialType;
  /** A person's label (a passkey's name); null when the type has none. */
  name: string | null;
  /** Non-secret data the method needs (a passkey's public key, transports; how many recovery codes). */
  publicData: Record<string, unknown>;
  /** The secret sealed under the KEK (TOTP); null when the method has none. */
  secretSealed: string | null;
  /**
   * A monotonic number the method advances with one conditional write: the last accepted TOTP
   * time step, a passkey's signature counter. 0 when never used.
   */
  counter: number;
  /** Passkeys only: the WebAuthn credential id (base64url), unique across accounts. */
  externalId: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface NewCredential {
  id: string;
  userId: string;
  type: CredentialType;
  name?: string | null;
  publicData?: Record<string, unknown>;
  secretSealed?: string | null;
  externalId?: string | null;
  counter?: number;
}

/** Storage port for credentials; storage/ implements it on SQL (both backends). */
export interface CredentialRepository {
  insert(credential: NewCredential): Promise<Credential>;
  listFor(userId: string, type?: CredentialType): Promise<Credential[]>;
  find(userId: string, id: string): Promise<Credential | undefined>;
  /** A passkey by its WebAuthn credential id (passwordless sign-in: the account is not known yet). */
  findByExternalId(type: CredentialType, externalId: string): Promise<Credential | undefined>;
  /**
   * Moves `counter` forward only: sets it to `to` (and last_used_at to now) when the stored value
   * is below `to`, or when both are 0 (an authenticator that keeps no counter). False when
   * another request got there first or the value went backwards: a replay or a cloned key.
   */
  advanceCounter(id: string, to: number): Promise<boolean>;
  touch(id: string): Promise<void>;
  delete(userId: string, id: string): Promise<boolean>;
  /** Removes every credential of the user (of `type` when given); returns how many. */
  deleteAll(userId: string, type?: CredentialType): Promise<number>;
  /** Replaces the user's recovery codes with `codeHashes` under credential `credential` in one transaction. */
  replaceRecoveryCodes(credential: NewCredential, codeHashes: string[]): Promise<Credential>;
  /** Marks one unused recovery code of the user used, in one conditional write; false when none matched. */
  consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean>;
  /** How many unused recovery codes the user has left. */
  remainingRecoveryCodes(userId: string): Promise<number>;
}
