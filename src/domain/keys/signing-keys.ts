import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import type { KeyEncryption } from './key-encryption.js';

export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA';

/** Every instance signs with these; RS256 stays for relying parties that cannot verify ES256. */
export const SIGNING_ALGS: SigningAlg[] = ['ES256', 'RS256', 'EdDSA'];

export interface StoredSigningKey {
  kid: string;
  alg: string;
  state: 'next' | 'current' | 'previous' | 'retired';
  publicJwk: JWK;
  privateJwkEncrypted: string;
  createdAt: Date;
}

/** Storage port for keys and named secrets. `initializeOnce` runs `create` under a lock shared by all instances. */
export interface KeyRepository {
  listSigningKeys(): Promise<StoredSigningKey[]>;
  initializeOnce(
    create: () => Promise<{ keys: Omit<StoredSigningKey, 'createdAt'>[]; secrets: { name: string; valueEncrypted: string }[] }>,
  ): Promise<void>;
  listSecrets(prefix: string): Promise<{ name: string; valueEncrypted: string }[]>;
}

const COOKIE_KEY_PREFIX = 'cookie-key:';
const COOKIE_KEY_BYTES = 32;

async function generateSigningKey(alg: SigningAlg, kek: KeyEncryption): Promise<Omit<StoredSigningKey, 'createdAt'>> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}), ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), ...meta };
  return {
    kid,
    alg,
    state: 'current',
    publicJwk: { ...publicJwk, ...meta },
    privateJwkEncrypted: kek.encrypt(JSON.stringify(privateJwk), `signing-key:${kid}`),
  };
}

export interface LoadedKeys {
  /** Private JWKs for the provider, current keys first. */
  jwks: { keys: JWK[] };
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
  kids: string[];
  /** When each signing key was made (its age is a metric; rotation policy reads it too). */
  signingKeys: { kid: string; alg: string; createdAt: Date }[];
}

/**
 * Signing keys and cookie keys: generated once for the whole deployment (the first instance to
 * start wins the lock), stored encrypted, decrypted only in memory. Restarts never change a kid.
 */
export class SigningKeys {
  constructor(private readonly repo: KeyRepository, private readonly kek: KeyEncryption) {}

  async load(): Promise<LoadedKeys> {
    await this.repo.initializeOnce(async () => ({
      keys: await Promise.all(SIGNING_ALGS.map((alg) => generateSigningKey(alg, this.kek))),
      secrets: [{
        name: `${COOKIE_KEY_PREFIX}1`,
        valueEncrypted: this.kek.encrypt(randomBytes(COOKIE_KEY_BYTES).toString('base64url'), `${COOKIE_KEY_PREFIX}1`),
      }],
    }));
    const stored = (await this.repo.listSigningKeys()).filter((k) => k.state !== 'retired');
    const order = { current: 0, next: 1, previous: 2, retired: 3 } as const;
    stored.sort((a, b) => order[a.state] - order[b.state] || b.createdAt.getTime() - a.createdAt.getTime());
    const keys = stored.map((k) => JSON.parse(this.kek.decrypt(k.privateJwkEncrypted, `signing-key:${k.kid}`)) as JWK);
    const secrets = await this.repo.listSecrets(COOKIE_KEY_PREFIX);
    const cookieKeys = secrets
      .sort((a, b) => b.name.localeCompare(a.name, undefined, { numeric: true }))
      .map((s) => this.kek.decrypt(s.valueEncrypted, s.name));
    return { jwks: { keys }, cookieKeys, kids: stored.map((k) => k.kid), signingKeys: stored.map(({ kid, alg, createdAt }) => ({ kid, alg, createdAt })) };
  }
}
