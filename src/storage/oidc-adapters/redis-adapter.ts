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

/** Index entries of artifacts stored without an expiry are kept this long. */
const DEFAULT_INDEX_TTL_SECONDS = 24 * 3600;

/**
 * Short-lived oidc-provider models in Redis, one hash per artifact (`payload`, `consumed`),
 * expiring with the artifact. A grant index (a set per grant) makes revokeByGrantId possible.
 */
export class RedisAdapter implements OidcAdapter {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly model: string) {}

  private key(id: string) { return `${this.prefix}${this.model}:${id}`; }
  private grantKey(grantId: string) { return `${this.prefix}grant:${grantId}`; }
  private userCodeKey(userCode: string) { return `${this.prefix}${this.model}:userCode:${userCode}`; }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.key(id);
    const multi = this.redis.multi().del(key).hset(key, 'payload', JSON.stringify(payload));
    if (expiresIn) multi.expire(key, expiresIn);
    if (payload.userCode) {
      multi.set(this.userCodeKey(payload.userCode), id);
      if (expiresIn) multi.expire(this.userCodeKey(payload.userCode), expiresIn);
    }
    await multi.exec();
    if (payload.grantId) {
      await this.redis.eval(INDEX_SCRIPT, 1, this.grantKey(payload.grantId), key, String(expiresIn ?? DEFAULT_INDEX_TTL_SECONDS));
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
    const result = await this.redis.eval(CONSUME_SCRIPT, 1, this.key(id), String(Math.floor(Date.now() / 1000)));
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
