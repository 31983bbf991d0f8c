import { createHash } from 'node:crypto';
import type { AdapterPayload } from './types.js';
import type { TokenSealer } from './token-sealer.js';

/**
 * Tokens at rest: a refresh token, authorization code, opaque access token or session id is a
 * bearer credential, and oidc-provider uses that value as the artifact's id. Stores therefore
 * key every artifact by SHA-256 of its id (a database read, a backup or a Redis dump yields no
 * live credential), and the value leaves the payload too: oidc-provider writes it as `jti`.
 *
 * - The grant id stays as it is: it is a reference (tokens carry it), not a credential, and
 *   admins list and revoke grants by it.
 * - Models looked up by a second key (a Session by its uid, a DeviceCode by its user code) need
 *   their id back without being given it: they keep it sealed (AES-256-GCM) in `jtiSealed`.
 * - An Interaction records the session cookie's value (`session.cookie`); nothing reads it back
 *   (oidc-provider only writes it), so it is stored as its hash.
 */
const PLAINTEXT_ID_MODELS: ReadonlySet<string> = new Set(['Grant']);
const SEALED_ID_MODELS: ReadonlySet<string> = new Set(['Session', 'DeviceCode']);

/** The sealed id's associated data, so a sealed value cannot be moved to another model. */
const sealContext = (model: string) => `gatehouse:jti:${model}`;

/** The last id hashed and its hash: a lookup tries one id under two or three models in a row (introspection). */
let lastId: string | undefined;
let lastHash = '';

/** SHA-256 of a value, base64url (43 characters): how stores key a credential. */
export function hashTokenId(id: string): string {
  if (id === lastId) return lastHash;
  const hash = createHash('sha256').update(id).digest('base64url');
  lastId = id;
  lastHash = hash;
  return hash;
}

/** One model's mapping between oidc-provider's ids and payloads and what a store keeps. */
export class StoredIds {
  private readonly plaintext: boolean;
  private readonly sealed: boolean;

  constructor(
    readonly model: string,
    private readonly sealer: TokenSealer,
  ) {
    this.plaintext = PLAINTEXT_ID_MODELS.has(model);
    this.sealed = SEALED_ID_MODELS.has(model);
  }

  /** The key a store files the artifact `id` under. */
  key(id: string): string {
    return this.plaintext ? id : hashTokenId(id);
  }

  /** The payload as stored: without the id in plaintext. */
  toStored(id: string, payload: AdapterPayload): AdapterPayload {
    if (this.plaintext) return payload;
    const { jti: _jti, ...rest } = payload;
    const stored: AdapterPayload = rest;
    if (this.sealed) stored.jtiSealed = this.sealer.seal(id, sealContext(this.model));
    const session = stored.session as { cookie?: unknown } | undefined;
    if (this.model === 'Interaction' && typeof session?.cookie === 'string') {
      stored.session = { ...session, cookie: hashTokenId(session.cookie) };
    }
    return stored;
  }

  /** The payload as oidc-provider expects it; `id` when the lookup was by id. */
  fromStored(stored: AdapterPayload, id?: string): AdapterPayload {
    if (this.plaintext) return stored;
    const { jtiSealed, ...payload } = stored;
    const jti =
      id ?? (typeof jtiSealed === 'string' ? this.sealer.open(jtiSealed, sealContext(this.model)) : undefined);
    if (jti !== undefined) payload.jti = jti;
    return payload;
  }
}
