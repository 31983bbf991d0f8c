import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import { GatehouseError, notFound } from '../errors.js';
import type { KeyEncryption } from './key-encryption.js';
import {
  keyState, nextTransition, planRevocation, planRotation, rotationDue, RotationConflict,
  type KeyChange, type KeyState, type KeyTimes,
} from './key-schedule.js';

export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA';

/** Every instance signs with these; RS256 stays for relying parties that cannot verify ES256. */
export const SIGNING_ALGS: SigningAlg[] = ['ES256', 'RS256', 'EdDSA'];

export interface StoredSigningKey extends KeyTimes {
  publicJwk: JWK;
  privateJwkEncrypted: string;
}

export type NewSigningKey = Pick<StoredSigningKey, 'kid' | 'alg' | 'publicJwk' | 'privateJwkEncrypted' | 'activatedAt'>;

/** Storage port for keys and named secrets. Both writers run under a lock shared by all instances. */
export interface KeyRepository {
  listSigningKeys(): Promise<StoredSigningKey[]>;
  initializeOnce(
    create: () => Promise<{ keys: NewSigningKey[]; secrets: { name: string; valueEncrypted: string }[] }>,
  ): Promise<void>;
  /** Reads the keys, lets `decide` plan a change from them, writes it: one transaction, serialised across instances. */
  changeSigningKeys(
    decide: (keys: StoredSigningKey[]) => KeyChange,
    generate: (alg: string, activatedAt: Date) => Promise<NewSigningKey>,
  ): Promise<{ inserted: NewSigningKey[]; change: KeyChange }>;
  listSecrets(prefix: string): Promise<{ name: string; valueEncrypted: string }[]>;
}

const COOKIE_KEY_PREFIX = 'cookie-key:';
const COOKIE_KEY_BYTES = 32;

async function generateSigningKey(alg: string, activatedAt: Date, kek: KeyEncryption): Promise<NewSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}), ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), ...meta };
  return {
    kid,
    alg,
    activatedAt,
    publicJwk: { ...publicJwk, ...meta },
    privateJwkEncrypted: kek.encrypt(JSON.stringify(privateJwk), `signing-key:${kid}`),
  };
}

export interface LoadedKeys {
  /** Private JWKs for the provider: current keys first (oidc-provider signs with the first match), then next, then previous. */
  jwks: { keys: JWK[] };
  /** The same keys without private parts, as published at /jwks. */
  publicJwks: { keys: JWK[] };
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
  kids: string[];
  /** Published keys with their state at load time (key age is a metric). */
  signingKeys: { kid: string; alg: string; state: KeyState; createdAt: Date; activatedAt: Date }[];
  /** Changes whenever the published set or a key's state changes: a new provider is due. */
  fingerprint: string;
  /** When the next scheduled transition happens. */
  nextTransitionAt?: Date;
}

/** What the admin API shows of a key: never key material beyond the public JWK. */
export interface SigningKeyView {
  kid: string;
  alg: string;
  state: KeyState;
  created_at: string;
  activated_at: string;
  deactivated_at: string | null;
  retired_at: string | null;
  revoked_at: string | null;
  public_jwk: JWK | null;
}

export interface RotationOptions {
  /** Algorithms to rotate; all when omitted. */
  algs?: readonly string[];
  /** Seconds the new key is published before it signs; the deployment default when omitted. */
  publishSeconds?: number;
}

export interface SigningKeyPolicy {
  /** Default publish time (≥ JWKS max-age + propagation). */
  publishSeconds: number;
  /** The shortest publish time that is still safe for cached key sets. */
  minPublishSeconds: number;
  /** Longest lifetime of anything a key signs (ID tokens, JWT access tokens), read when a rotation is planned. */
  longestSignedTokenSeconds: () => Promise<number>;
  /** Added to that lifetime before a replaced key retires (clock skew between parties). */
  retireGraceSeconds: number;
}

/** Signing order: oidc-provider signs with the first key of an algorithm, so `current` comes first. */
const STATE_ORDER: Record<KeyState, number> = { current: 0, next: 1, previous: 2, retired: 3 };

/** The keys in JWKS at `now`, in signing order. */
function publishedAt(all: StoredSigningKey[], now: Date) {
  return all
    .map((k) => ({ key: k, state: keyState(k, now) }))
    .filter((k) => k.state !== 'retired')
    .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.key.activatedAt.getTime() - a.key.activatedAt.getTime());
}

const fingerprintOf = (published: { key: StoredSigningKey; state: KeyState }[]) =>
  published.map(({ key, state }) => `${key.kid}:${state}`).join(',');

function toView(k: StoredSigningKey, now: Date): SigningKeyView {
  const state = keyState(k, now);
  return {
    kid: k.kid,
    alg: k.alg,
    state,
    created_at: k.createdAt.toISOString(),
    activated_at: k.activatedAt.toISOString(),
    deactivated_at: k.deactivatedAt?.toISOString() ?? null,
    retired_at: (k.revokedAt && (!k.retiredAt || k.revokedAt < k.retiredAt) ? k.revokedAt : k.retiredAt)?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
    public_jwk: state === 'retired' ? null : k.publicJwk,
  };
}

/**
 * Signing keys and cookie keys: generated once for the whole deployment (the first instance to
 * start wins the lock), stored encrypted, decrypted only in memory; rotated in stages
 * (key-schedule.ts) so relying parties with cached key sets never see an unknown kid.
 */
export class SigningKeys {
  constructor(
    private readonly repo: KeyRepository,
    private readonly kek: KeyEncryption,
    private readonly policy?: SigningKeyPolicy,
  ) {}

  /** The keys to publish and sign with at `now` (first start: generates them). */
  async load(now = new Date()): Promise<LoadedKeys> {
    await this.repo.initializeOnce(async () => ({
      keys: await Promise.all(SIGNING_ALGS.map((alg) => generateSigningKey(alg, now, this.kek))),
      secrets: [{
        name: `${COOKIE_KEY_PREFIX}1`,
        valueEncrypted: this.kek.encrypt(randomBytes(COOKIE_KEY_BYTES).toString('base64url'), `${COOKIE_KEY_PREFIX}1`),
      }],
    }));
    return this.build(await this.repo.listSigningKeys(), now);
  }

  /**
   * For the periodic check: one query for the key rows; keys are decrypted (and cookie keys
   * read) only when the published set or a state differs from `servingFingerprint`.
   */
  async loadIfChanged(servingFingerprint: string, now = new Date()): Promise<{ keys?: LoadedKeys; nextTransitionAt?: Date }> {
    const all = await this.repo.listSigningKeys();
    const published = publishedAt(all, now);
    if (fingerprintOf(published) === servingFingerprint) return { nextTransitionAt: nextTransition(all, now) };
    return { keys: await this.build(all, now), nextTransitionAt: nextTransition(all, now) };
  }

  private async build(all: StoredSigningKey[], now: Date): Promise<LoadedKeys> {
    const published = publishedAt(all, now);
    const keys = published.map(({ key }) => JSON.parse(this.kek.decrypt(key.privateJwkEncrypted, `signing-key:${key.kid}`)) as JWK);
    const secrets = await this.repo.listSecrets(COOKIE_KEY_PREFIX);
    const cookieKeys = secrets
      .sort((a, b) => b.name.localeCompare(a.name, undefined, { numeric: true }))
      .map((s) => this.kek.decrypt(s.valueEncrypted, s.name));
    return {
      jwks: { keys },
      publicJwks: { keys: published.map(({ key }) => key.publicJwk) },
      cookieKeys,
      kids: published.map(({ key }) => key.kid),
      signingKeys: published.map(({ key, state }) => ({ kid: key.kid, alg: key.alg, state, createdAt: key.createdAt, activatedAt: key.activatedAt })),
      fingerprint: fingerprintOf(published),
      nextTransitionAt: nextTransition(all, now),
    };
  }

  /** Every key ever made, newest first, with its state at `now`. */
  async list(now = new Date()): Promise<SigningKeyView[]> {
    const all = await this.repo.listSigningKeys();
    return all
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || a.alg.localeCompare(b.alg))
      .map((k) => toView(k, now));
  }

  /** Stages a new key per algorithm: published now, signing after the publish time. */
  async rotate(options: RotationOptions = {}, now = new Date()): Promise<SigningKeyView[]> {
    const policy = this.requirePolicy();
    const algs = options.algs?.length ? [...new Set(options.algs)] : SIGNING_ALGS;
    const publishSeconds = options.publishSeconds ?? policy.publishSeconds;
    if (publishSeconds < policy.minPublishSeconds) {
      throw new GatehouseError('invalid_request', `publish_seconds must be at least ${policy.minPublishSeconds} (JWKS max-age + key poll interval + skew margin), or revoke the key for an emergency`);
    }
    const retireAfterSeconds = (await policy.longestSignedTokenSeconds()) + policy.retireGraceSeconds;
    const { inserted } = await this.changeOrConflict(
      (keys) => planRotation(keys, { algs, now, publishSeconds, retireAfterSeconds }),
    );
    const kids = new Set(inserted.map((k) => k.kid));
    return (await this.list(now)).filter((k) => kids.has(k.kid));
  }

  /** Emergency: the key leaves JWKS at once; if it was signing, a replacement signs from now. */
  async revoke(kid: string, now = new Date()): Promise<{ revoked: SigningKeyView; replacement?: SigningKeyView }> {
    const { inserted, change } = await this.changeOrConflict((keys) => {
      const key = keys.find((k) => k.kid === kid);
      if (!key) throw notFound('signing key');
      if (keyState(key, now) === 'retired') throw new GatehouseError('conflict', 'the key is already retired');
      return planRevocation(keys, kid, now);
    });
    const replacementKid = inserted[0]?.kid ?? change.update.find((u) => u.activatedAt)?.kid;
    const views = await this.list(now);
    const replacement = views.find((k) => k.kid === replacementKid);
    return { revoked: views.find((k) => k.kid === kid)!, ...(replacement ? { replacement } : {}) };
  }

  /** Scheduled rotation (SIGNING_KEY_ROTATION_INTERVAL_SECONDS): stages one when the current keys are old enough. */
  async rotateIfDue(intervalSeconds: number, now = new Date()): Promise<SigningKeyView[]> {
    const due = rotationDue(await this.repo.listSigningKeys(), now, intervalSeconds);
    if (!due.length) return [];
    try {
      return await this.rotate({ algs: due }, now);
    } catch (err) {
      // Another instance staged it first.
      if (err instanceof GatehouseError && err.code === 'conflict') return [];
      throw err;
    }
  }

  private async changeOrConflict(decide: (keys: StoredSigningKey[]) => KeyChange) {
    try {
      return await this.repo.changeSigningKeys(decide, (alg, activatedAt) => generateSigningKey(alg, activatedAt, this.kek));
    } catch (err) {
      if (err instanceof RotationConflict) throw new GatehouseError('conflict', err.message);
      throw err;
    }
  }

  private requirePolicy(): SigningKeyPolicy {
    if (!this.policy) throw new Error('SigningKeys was built without a rotation policy');
    return this.policy;
  }
}
