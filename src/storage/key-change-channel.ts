import type { KeyChangeChannel } from '../domain/keys/signing-key-watcher.js';
import type { Redis } from './redis.js';

/**
 * Signing-key change notifications over Redis pub/sub. A subscribed connection cannot run other
 * commands, so subscribing opens a second one. A lost message costs at most one poll interval.
 */
export function redisKeyChangeChannel(redis: Redis, prefix: string): KeyChangeChannel {
  const channel = `${prefix}signing-keys-changed`;
  return {
    async publish() {
      await redis.publish(channel, String(Date.now()));
    },
    async subscribe(onChange) {
      const subscriber = redis.duplicate({ enableAutoPipelining: false });
      subscriber.on('error', () => undefined); // reported by the main connection; polling covers the gap
      subscriber.on('message', (ch: string) => {
        if (ch === channel) onChange();
      });
      await subscriber.subscribe(channel);
      return async () => {
        await subscriber.quit().catch(() => subscriber.disconnect());
      };
    },
  };
}
