import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors.js';

const VERSION = 'v1';

/**
 * Envelope encryption for secrets at rest (private JWKs, cookie keys): AES-256-GCM under the
 * key-encryption key, with the record's name as associated data so a ciphertext cannot be
 * moved to another record. Format: v1.<iv>.<tag>.<ciphertext>, base64url.
 */
export class KeyEncryption {
  constructor(private readonly kek: Buffer) {
    if (kek.length !== 32) throw new Error('key-encryption key must be 32 bytes');
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.kek, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  decrypt(sealed: string, context: string): string {
    const [version, iv, tag, ct] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || ct === undefined) throw new GatehouseError('server_error', 'unknown key envelope format');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.kek, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new GatehouseError('server_error',
        'cannot decrypt stored keys: the key-encryption key (GATEHOUSE_KEK or keys/kek) differs from the one that sealed them', { cause: err });
    }
  }
}
