import type { Redis } from 'ioredis';
import { alreadyConsumed } from './already-consumed.js';
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

/**
 * Request-scope note (Database.withRequestScope): while it holds an array, deletions are queued
 * there instead of run, for the caller to run once the durable (SQL) part of the request held.
 */
export const DEFERRED_REDIS_DELETES = 'redis.deferredDeletes';
type DeferredDelete = () => Promise<unknown>;

/** Runs the deletions a request scope queued (see DEFERRED_REDIS_DELETES). */
export async function runDeferredRedisDeletes(notes: Map<string, unknown> | undefined): Promise<void> {
  const queued = notes?.get(DEFERRED_REDIS_DELETES) as DeferredDelete[] | undefined;
  if (!queued?.length) return;
  notes!.set(DEFERRED_REDIS_DELETES, []);
  await Promise.all(queued.map((run) => run()));
}

/** Index entries of artifacts stored without an expiry are kept this long. */
const DEFAULT_INDEX_TTL_SECONDS = 24 * 3600;

/**
 * Short-lived oidc-provider models in Redis: the payload as one string key expiring with the
 * artifact (a single SET … EX on the hot path), a `:consumed` marker beside it for single-use
 * artifacts. Both keys share a hash tag, so they live in one slot on Redis Cluster. A grant index
 * (a set per grant) makes revokeByGrantId possible.
 */
export class RedisAdapter implements OidcAdapter {
  private readonly redis: ScriptedRedis;
  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly model: string,
    /** The current request scope's notes (deferred deletions); none outside a scope. */
    private readonly requestNotes?: () => Map<string, unknown> | undefined,
  ) {
    this.redis = scripted(redis);
  }

  private key(id: string) { return `${this.prefix}${this.model}:{${id}}`; }
  private grantKey(grantId: string) { return `${this.prefix}grant:{${grantId}}`; }
  private userCodeKey(userCode: string) { return `${this.prefix}${this.model}:userCode:{${userCode}}`; }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.key(id);
    if (expiresIn) await this.redis.set(key, JSON.stringify(payload), 'EX', expiresIn);
    else await this.redis.set(key, JSON.stringify(payload));
    if (payload.userCode) {
      if (expiresIn) await this.redis.set(this.userCodeKey(payload.userCode), id, 'EX', expiresIn);
      else await this.redis.set(this.userCodeKey(payload.userCode), id);
    }
    if (payload.grantId) {
      await this.redis.gatehouseIndex(this.grantKey(payload.grantId), key, String(expiresIn ?? DEFAULT_INDEX_TTL_SECONDS));
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const key = this.key(id);
    const [json, consumed] = await this.redis.mget(key, `${key}:consumed`);
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
    const id = await this.redis.get(this.userCodeKey(userCode));
    return id ? this.find(id) : undefined;
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
    const queue = this.requestNotes?.()?.get(DEFERRED_REDIS_DELETES) as DeferredDelete[] | undefined;
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
