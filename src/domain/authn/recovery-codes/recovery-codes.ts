import { createHmac, hkdfSync, randomUUID } from 'node:crypto';
import type { CredentialRepository } from '../credentials.js';
import type { RecoveryCodeIssuer } from '../enrolment.js';
import { newRecoveryCodeSet, normaliseRecoveryCode } from './recovery-code-format.js';

/** A key of its own, derived from the KEK: the KEK itself only ever encrypts. */
const HKDF_INFO = 'gatehouse:recovery-codes:v1';

/**
 * An account's recovery codes: shown once when made, stored only as HMAC-SHA256 under a key
 * derived from the key-encryption key (a copy of the database alone cannot test guesses
 * offline, and 60-bit codes need no slow hash), used once each through one conditional write.
 * Changing the KEK invalidates every set, as it does the sealed TOTP secrets.
 */
export class RecoveryCodes implements RecoveryCodeIssuer {
  readonly #key: Buffer;

  constructor(
    private readonly credentials: CredentialRepository,
    keyEncryptionKey: Buffer,
  ) {
    if (keyEncryptionKey.length !== 32) throw new Error('key-encryption key must be 32 bytes');
    this.#key = Buffer.from(hkdfSync('sha256', keyEncryptionKey, Buffer.alloc(0), HKDF_INFO, 32));
  }

  /**
   * The stored form of a normalised code. Looking it up needs no constant-time compare: nobody
   * can compute a hash without the key, so timing reveals nothing about a code.
   */
  private hash(normalised: string): string {
    return createHmac('sha256', this.#key).update(normalised).digest('base64url');
  }

  async generate(userId: string): Promise<string[]> {
    const codes = newRecoveryCodeSet();
    await this.credentials.replaceRecoveryCodes(
      { id: randomUUID(), userId, type: 'recovery_codes', publicData: { count: codes.length } },
      codes.map((c) => this.hash(normaliseRecoveryCode(c)!)),
    );
    return codes;
  }

  async has(userId: string): Promise<boolean> {
    return (await this.credentials.listFor(userId, 'recovery_codes')).length > 0;
  }

  async remaining(userId: string): Promise<number> {
    return this.credentials.remainingRecoveryCodes(userId);
  }

  /** Uses one code: true once per code, false for anything else (malformed, unknown, used, another account's). */
  async consume(userId: string, typed: string): Promise<boolean> {
    const normalised = normaliseRecoveryCode(typed);
    if (!normalised) return false;
    return this.credentials.consumeRecoveryCode(userId, this.hash(normalised));
  }
}
