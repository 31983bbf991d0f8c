import type { Redis } from 'ioredis';
import type { Database } from '../database.js';
import type { ClientMetadataCache } from '../client-metadata-cache.js';
import { ClientsAdapter } from './clients-adapter.js';
import { routeFor } from './model-routing.js';
import { RedisAdapter } from './redis-adapter.js';
import { RefreshTokenAdapter } from './refresh-token-adapter.js';
import { SqlAdapter } from './sql-adapter.js';
import type { OidcAdapter } from './types.js';

/** Builds the adapter class oidc-provider instantiates once per model name. */
export function createAdapterFactory(deps: { database: Database; redis?: Redis; redisPrefix: string; clientCache: ClientMetadataCache }) {
  return function adapterFor(model: string): OidcAdapter {
    switch (routeFor(model)) {
      case 'clients': return new ClientsAdapter(deps.database, deps.clientCache);
      case 'ephemeral': return deps.redis ? new RedisAdapter(deps.redis, deps.redisPrefix, model, () => deps.database.requestNotes()) : new SqlAdapter(deps.database, model);
      default: return model === 'RefreshToken' ? new RefreshTokenAdapter(deps.database) : new SqlAdapter(deps.database, model);
    }
  };
}
