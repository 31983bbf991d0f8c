import type { Redis } from 'ioredis';
import { alreadyConsumed } from './already-consumed.js';
import type { AdapterPayload, OidcAdapter } from './types.js';

// Marks the artifact consumed only if it exists and was not consumed yet: one atomic step.
const CONSUME_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

// Adds an artifact to its grant's index and extends the index's TTL to cover it (any Redis version).
const INDEX_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

// Stores one artifact (replacing any previous value) with its expiry, in one command.
const UPSERT_SCRIPT = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'payload', ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

type ScriptedRedis = Redis & {
  gatehouseUpsert(key: string, payload: string, ttl: string): Promise<number>;
  gatehouseConsume(key: string, now: string): Promise<number>;
  gatehouseIndex(indexKey: string, member: string, ttl: string): Promise<number>;
};

/** Registers our scripts once per connection (ioredis sends them by SHA after the first use). */
function scripted(redis: Redis): ScriptedRedis {
  const r = redis as ScriptedRedis;
  if (typeof r.gatehouseUpsert !== 'function') {
    redis.defineCommand('gatehouseUpsert', { numberOfKeys: 1, lua: UPSERT_SCRIPT });
    redis.defineCommand('gatehouseConsume', { numberOfKeys: 1, lua: CONSUME_SCRIPT });
    redis.defineCommand('gatehouseIndex', { numberOfKeys: 1, lua: INDEX_SCRIPT });
  }
  return r;
}

/** Index entries of artifacts stored without an expiry are kept this long. */
const DEFAULT_INDEX_TTL_SECONDS = 24 * 3600;

/**
 * Short-lived oidc-provider models in Redis, one hash per artifact (`payload`, `consumed`),
 * expiring with the artifact. A grant index (a set per grant) makes revokeByGrantId possible.
 */
export class RedisAdapter implements OidcAdapter {
  private readonly redis: ScriptedRedis;
  constructor(redis: Redis, private readonly prefix: string, private readonly model: string) {
    this.redis = scripted(redis);
  }

  private key(id: string) { return `${this.prefix}${this.model}:${id}`; }
  private grantKey(grantId: string) { return `${this.prefix}grant:${grantId}`; }
  private userCodeKey(userCode: string) { return `${this.prefix}${this.model}:userCode:${userCode}`; }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.key(id);
    await this.redis.gatehouseUpsert(key, JSON.stringify(payload), String(expiresIn ?? 0));
    if (payload.userCode) {
      if (expiresIn) await this.redis.set(this.userCodeKey(payload.userCode), id, 'EX', expiresIn);
      else await this.redis.set(this.userCodeKey(payload.userCode), id);
    }
    if (payload.grantId) {
      await this.redis.gatehouseIndex(this.grantKey(payload.grantId), key, String(expiresIn ?? DEFAULT_INDEX_TTL_SECONDS));
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    if (!hash.payload) return undefined;
    const payload = JSON.parse(hash.payload) as AdapterPayload;
    if (hash.consumed) payload.consumed = Number(hash.consumed);
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
    const result = await this.redis.gatehouseConsume(this.key(id), String(Math.floor(Date.now() / 1000)));
    if (result !== 1) throw alreadyConsumed(this.model);
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const grantKey = this.grantKey(grantId);
    const keys = await this.redis.smembers(grantKey);
    const mine = keys.filter((k) => k.startsWith(`${this.prefix}${this.model}:`));
    if (mine.length) {
      await Promise.all(mine.map((k) => this.redis.del(k)));
      await this.redis.srem(grantKey, ...mine);
    }
  }
}
