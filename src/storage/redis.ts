import { Redis } from 'ioredis';
import { classifyStorageError } from './storage-errors.js';

export type { Redis };

/** Connects with bounded retries so a Redis outage fails requests fast instead of queueing them. */
export function createRedis(url: string): Redis {
  return classifyingRedis(
    new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
      commandTimeout: 2000,
      lazyConnect: false,
      // Commands issued in the same tick share one socket write: fewer syscalls under load.
      enableAutoPipelining: true,
    }),
  );
}

/**
 * The same client, with every command's failure classified (storage-errors.ts): ioredis has no
 * single place all commands pass (auto-pipelining, scripts from defineCommand), so each method's
 * promise is wrapped on the way out. MULTI/pipeline results are read by their callers, which
 * classify them themselves (attempt-counters.ts).
 */
const rethrowClassified = (err: unknown): never => {
  throw classifyStorageError(err);
};

export function classifyingRedis(redis: Redis): Redis {
  const wrappers = new Map<PropertyKey, { original: unknown; wrapper: unknown }>();
  return new Proxy(redis, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const cached = wrappers.get(prop);
      if (cached?.original === value) return cached.wrapper;
      const wrapper = (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        // One shared handler: no closure per command.
        return result instanceof Promise ? result.catch(rethrowClassified) : result;
      };
      wrappers.set(prop, { original: value, wrapper });
      return wrapper;
    },
  });
}
