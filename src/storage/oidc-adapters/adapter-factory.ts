import type { Redis } from 'ioredis';
import type { Database } from '../database.js';
import type { ClientMetadataCache } from '../client-metadata-cache.js';
import { ClientsAdapter } from './clients-adapter.js';
import { routeFor } from './model-routing.js';
import { RedisAdapter } from './redis-adapter.js';
import { type RefreshRotations, RefreshTokenAdapter } from './refresh-token-adapter.js';
import { SqlAdapter } from './sql-adapter.js';
import type { TokenSealer } from './token-sealer.js';
import type { OidcAdapter } from './types.js';

export interface AdapterDeps {
  database: Database;
  redis?: Redis;
  redisPrefix: string;
  clientCache: ClientMetadataCache;
  /** Seals the few token values a store must give back (stored-ids.ts, refresh-token-adapter.ts). */
  sealer: TokenSealer;
  rotations: RefreshRotations;
}

/** Builds the adapter class oidc-provider instantiates once per model name. */
export function createAdapterFactory(deps: AdapterDeps) {
  const { database, sealer } = deps;
  return function adapterFor(model: string): OidcAdapter {
    switch (routeFor(model)) {
      case 'clients':
        return new ClientsAdapter(database, deps.clientCache);
      case 'ephemeral':
        return deps.redis
          ? new RedisAdapter(deps.redis, deps.redisPrefix, model, sealer, () => database.requestScope())
          : new SqlAdapter(database, model, sealer);
      default:
        return model === 'RefreshToken'
          ? new RefreshTokenAdapter(database, sealer, deps.rotations)
          : new SqlAdapter(database, model, sealer);
    }
  };
}
