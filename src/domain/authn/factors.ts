import { notFound } from '../errors.js';
import type { EnrolledFactors } from './authentication-policy.js';
import type { Credential, CredentialRepository, FactorType } from './credentials.js';

/** A factor as the admin API and the account page list it. */
export interface FactorSummary {
  id: string;
  type: FactorType;
  name?: string;
  created_at: string;
  last_used_at: string | null;
}

export const factorSummary = (c: Credential): FactorSummary => ({
  id: c.id,
  type: c.type as FactorType,
  ...(c.name ? { name: c.name } : {}),
  created_at: c.createdAt.toISOString(),
  last_used_at: c.lastUsedAt ? c.lastUsedAt.toISOString() : null,
});

/**
 * An account's second factors as a whole: what is enrolled (for the authentication policy),
 * listing and removal (account page, admin API). Removing the last second factor also removes
 * the recovery codes, which only stand in for one.
 */
export class Factors {
  constructor(private readonly credentials: CredentialRepository) {}

  async enrolled(userId: string): Promise<EnrolledFactors> {
    const all = await this.credentials.listFor(userId);
    const hasRecovery = all.some((c) => c.type === 'recovery_codes');
    return {
      totp: all.some((c) => c.type === 'totp'),
      passkey: all.some((c) => c.type === 'passkey'),
      recoveryCodes: hasRecovery && (await this.credentials.remainingRecoveryCodes(userId)) > 0,
    };
  }

  /** Second factors only (the password is the account's, not a factor to list or remove here). */
  async list(userId: string): Promise<Credential[]> {
    return (await this.credentials.listFor(userId)).filter((c) => c.type !== 'password');
  }

  /** Removes one factor; returns it. */
  async remove(userId: string, id: string): Promise<Credential> {
    const credential = await this.credentials.find(userId, id);
    if (!credential || credential.type === 'password' || !(await this.credentials.delete(userId, id)))
      throw notFound('factor');
    await this.dropOrphanedRecoveryCodes(userId);
    return credential;
  }

  /** Removes every factor of the account; returns how many. */
  async removeAll(userId: string): Promise<number> {
    let removed = 0;
    for (const type of ['totp', 'passkey', 'recovery_codes'] as const)
      removed += await this.credentials.deleteAll(userId, type);
    return removed;
  }

  private async dropOrphanedRecoveryCodes(userId: string): Promise<void> {
    const left = await this.credentials.listFor(userId);
    if (!left.some((c) => c.type === 'totp' || c.type === 'passkey'))
      await this.credentials.deleteAll(userId, 'recovery_codes');
  }
}
