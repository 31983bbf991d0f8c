import type { Redis } from 'ioredis';
import { MODEL_ROUTING } from './model-routing.js';
import { StoredIds } from './stored-ids.js';
import type { TokenSealer } from './token-sealer.js';

/** Set once a deployment's Redis keys were re-keyed: later starts skip the scan. */
const DONE_MARKER = 'meta:token-ids-hashed';
const SCAN_COUNT = 1000;

const EPHEMERAL_MODELS = Object.entries(MODEL_ROUTING)
  .filter(([, where]) => where === 'ephemeral')
  .map(([model]) => model);

/**
 * Re-keys artifacts that a version before hashed ids wrote to Redis (`<prefix><Model>:{<value>}`,
 * payload with `jti` = the value) under the hash of their value, with the value removed, keeping
 * each key's remaining lifetime, its consumed marker and its place in its grant's index. A key is
 * recognised as old by its payload (`jti` equal to the id in the key), so keys already written by
 * this version are left alone. Runs once per key prefix; safe to run on several instances at once.
 */
export async function rekeyLegacyRedisIds(redis: Redis, prefix: string, sealer: TokenSealer): Promise<number> {
  if (await redis.exists(`${prefix}${DONE_MARKER}`)) return 0;
  const ids = new Map(EPHEMERAL_MODELS.map((m) => [m, new StoredIds(m, sealer)]));
  const pattern = new RegExp(`^${escapeRegExp(prefix)}(${EPHEMERAL_MODELS.join('|')}):\\{(.+)\\}$`);
  let moved = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT);
    cursor = next;
    for (const key of keys) {
      const match = pattern.exec(key);
      if (!match) continue;
      const [, model, id] = match as unknown as [string, string, string];
      if (await rekey(redis, prefix, key, id, ids.get(model)!)) moved++;
    }
  } while (cursor !== '0');
  await redis.set(`${prefix}${DONE_MARKER}`, new Date().toISOString());
  return moved;
}

async function rekey(redis: Redis, prefix: string, key: string, id: string, ids: StoredIds): Promise<boolean> {
  const [json, ttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
  if (!json) return false;
  const payload = JSON.parse(json) as Record<string, unknown>;
  if (payload.jti !== id) return false;
  const newKey = `${prefix}${ids.model}:{${ids.key(id)}}`;
  const stored = JSON.stringify(ids.toStored(id, payload));
  if (ttl > 0) await redis.set(newKey, stored, 'PX', ttl);
  else await redis.set(newKey, stored);
  const consumed = await redis.get(`${key}:consumed`);
  if (consumed) {
    const consumedTtl = await redis.pttl(`${key}:consumed`);
    if (consumedTtl > 0) await redis.set(`${newKey}:consumed`, consumed, 'PX', consumedTtl);
    else await redis.set(`${newKey}:consumed`, consumed);
  }
  if (typeof payload.grantId === 'string') {
    const grantKey = `${prefix}grant:{${payload.grantId}}`;
    if (await redis.srem(grantKey, key)) await redis.sadd(grantKey, newKey);
  }
  await redis.del(key, `${key}:consumed`);
  return true;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
