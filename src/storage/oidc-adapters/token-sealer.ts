import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { GatehouseError } from '../../domain/errors.js';

const VERSION = 's1';
/** Distinct from the key-encryption purpose of the same KEK: a derived key per use. */
const HKDF_INFO = 'gatehouse:token-seal:v1';

/**
 * Seals the few token values a store must be able to give back (a rotated refresh token's
 * successor for the grace window, the id of a session found by its uid): AES-256-GCM under a
 * key derived from the deployment's key-encryption key, with a context as associated data.
 * Format: s1.<iv>.<tag>.<ciphertext>, base64url.
 */
export class TokenSealer {
  private readonly key: Buffer;

  constructor(keyEncryptionKey: Buffer) {
    if (keyEncryptionKey.length !== 32) throw new Error('key-encryption key must be 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', keyEncryptionKey, Buffer.alloc(0), HKDF_INFO, 32));
  }

  seal(value: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return `${VERSION}.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
  }

  open(sealed: string, context: string): string {
    const [version, iv, tag, ct] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || ct === undefined)
      throw new GatehouseError('server_error', 'unknown sealed token format');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new GatehouseError(
        'server_error',
        'cannot open a sealed token: the key-encryption key differs from the one that sealed it',
        { cause: err },
      );
    }
  }
}
