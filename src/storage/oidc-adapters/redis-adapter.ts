import type { Redis } from 'ioredis';
import { alreadyConsumed } from './already-consumed.js';
import type { RequestScope } from '../request-scope.js';
import { SameTickReads } from './same-tick-reads.js';
import { StoredIds } from './stored-ids.js';
import type { TokenSealer } from './token-sealer.js';
import type { AdapterPayload, OidcAdapter } from './types.js';

// Marks the artifact consumed only if it exists and was not consumed yet: one atomic step.
// The consumed marker expires with the artifact.
const CONSUME_SCRIPT = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return -1 end
if ttl > 0 then
  if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ttl) then return 1 end
elseif redis.call('SET', KEYS[2], ARGV[1], 'NX') then return 1 end
return 0`;

// Adds an artifact to its grant's index and extends the index's TTL to cover it (any Redis version).
const INDEX_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

type ScriptedRedis = Redis & {
  gatehouseConsume(key: string, consumedKey: string, now: string): Promise<number>;
  gatehouseIndex(indexKey: string, member: string, ttl: string): Promise<number>;
};

/** Registers our scripts once per connection (ioredis sends them by SHA after the first use). */
function scripted(redis: Redis): ScriptedRedis {
  const r = redis as ScriptedRedis;
  if (typeof r.gatehouseConsume !== 'function') {
    redis.defineCommand('gatehouseConsume', { numberOfKeys: 2, lua: CONSUME_SCRIPT });
    redis.defineCommand('gatehouseIndex', { numberOfKeys: 1, lua: INDEX_SCRIPT });
  }
  return r;
}

/** A payload key's value and its `:consumed` marker. */
type StoredPair = [payload: string | null, consumed: string | null];

/**
 * One reader per Redis client: the keys of one stored id under several models (one hash tag, so
 * one slot on a Cluster) asked for in the same tick are read with one MGET (same-tick-reads.ts).
 */
const readersByClient = new WeakMap<Redis, SameTickReads<StoredPair>>();

function sameTickReader(redis: Redis): SameTickReads<StoredPair> {
  let reader = readersByClient.get(redis);
  if (!reader) {
    reader = new SameTickReads<StoredPair>(async (_hashTag, keys) => {
      const values = await redis.mget(keys.flatMap((key) => [key, `${key}:consumed`]));
      return keys.map((_, i) => [values[2 * i] ?? null, values[2 * i + 1] ?? null] as StoredPair);
    });
    readersByClient.set(redis, reader);
  }
  return reader;
}

type DeferredDelete = () => Promise<unknown>;

/** Index entries of artifacts stored without an expiry are kept this long. */
const DEFAULT_INDEX_TTL_SECONDS = 24 * 3600;

/**
 * Short-lived oidc-provider models in Redis, keyed by the SHA-256 of their id (stored-ids.ts):
 * the payload as one string key expiring with the
 * artifact (a single SET … EX on the hot path), a `:consumed` marker beside it for single-use
 * artifacts. Both keys share a hash tag, so they live in one slot on Redis Cluster. A grant index
 * (a set per grant) makes revokeByGrantId possible.
 */
export class RedisAdapter implements OidcAdapter {
  private readonly redis: ScriptedRedis;
  private readonly ids: StoredIds;
  private readonly reads: SameTickReads<StoredPair>;
  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly model: string,
    sealer: TokenSealer,
    /** The current request scope (deferred deletions); none outside a scope. */
    private readonly requestScope?: () => RequestScope | undefined,
  ) {
    this.redis = scripted(redis);
    this.ids = new StoredIds(model, sealer);
    this.reads = sameTickReader(redis);
  }

  /** The payload's key, by the artifact's id as stored (hashed). */
  private storedKey(storedId: string) {
    return `${this.prefix}${this.model}:{${storedId}}`;
  }
  private key(id: string) {
    return this.storedKey(this.ids.key(id));
  }
  private grantKey(grantId: string) {
    return `${this.prefix}grant:{${grantId}}`;
  }
  private userCodeKey(userCode: string) {
    return `${this.prefix}${this.model}:userCode:{${this.ids.key(userCode)}}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const storedId = this.ids.key(id);
    const key = this.storedKey(storedId);
    const json = JSON.stringify(this.ids.toStored(id, payload));
    // Issued together, so auto-pipelining sends them in one write and one round trip. Their order
    // does not matter: an index entry or user code whose artifact is missing finds nothing.
    const writes: Promise<unknown>[] = [
      expiresIn ? this.redis.set(key, json, 'EX', expiresIn) : this.redis.set(key, json),
    ];
    if (payload.userCode) {
      const codeKey = this.userCodeKey(payload.userCode);
      writes.push(expiresIn ? this.redis.set(codeKey, storedId, 'EX', expiresIn) : this.redis.set(codeKey, storedId));
    }
    if (payload.grantId) {
      writes.push(
        this.redis.gatehouseIndex(this.grantKey(payload.grantId), key, String(expiresIn ?? DEFAULT_INDEX_TTL_SECONDS)),
      );
    }
    await (writes.length === 1 ? writes[0] : Promise.all(writes));
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const storedId = this.ids.key(id);
    const stored = await this.findStored(storedId);
    return stored && this.ids.fromStored(stored, id);
  }

  /** The payload filed under a stored id, read with this id's other models asked for in this tick. */
  private async findStored(storedId: string): Promise<AdapterPayload | undefined> {
    const [json, consumed] = await this.reads.read(`${this.prefix}{${storedId}}`, this.storedKey(storedId));
    if (!json) return undefined;
    const payload = JSON.parse(json) as AdapterPayload;
    if (consumed) payload.consumed = Number(consumed);
    return payload;
  }

  async findByUid(): Promise<AdapterPayload | undefined> {
    // Only Session is looked up by uid, and sessions are durable (SQL).
    return undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const storedId = await this.redis.get(this.userCodeKey(userCode));
    const stored = storedId ? await this.findStored(storedId) : undefined;
    return stored && this.ids.fromStored(stored);
  }

  async consume(id: string): Promise<void> {
    const key = this.key(id);
    const result = await this.redis.gatehouseConsume(key, `${key}:consumed`, String(Math.floor(Date.now() / 1000)));
    if (result !== 1) throw alreadyConsumed(this.model);
  }

  async destroy(id: string): Promise<void> {
    if (!this.defer(() => this.deleteArtifact(id))) await this.deleteArtifact(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    if (!this.defer(() => this.deleteGrantArtifacts(grantId))) await this.deleteGrantArtifacts(grantId);
  }

  /** Queues `run` when the request scope defers deletions; true when it did. */
  private defer(run: DeferredDelete): boolean {
    const queue = this.requestScope?.()?.deferredRedisDeletes;
    if (!queue) return false;
    queue.push(run);
    return true;
  }

  private async deleteArtifact(id: string): Promise<void> {
    const key = this.key(id);
    await this.redis.del(key, `${key}:consumed`);
  }

  private async deleteGrantArtifacts(grantId: string): Promise<void> {
    const grantKey = this.grantKey(grantId);
    const keys = await this.redis.smembers(grantKey);
    const mine = keys.filter((k) => k.startsWith(`${this.prefix}${this.model}:`));
    if (mine.length) {
      await Promise.all(mine.map((k) => this.redis.del(k, `${k}:consumed`)));
      await this.redis.srem(grantKey, ...mine);
    }
  }
}
