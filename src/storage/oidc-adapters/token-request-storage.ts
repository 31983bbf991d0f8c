import type {
  RevocationStorage,
  RotationOutcome,
  TokenRequestStorage,
} from '../../domain/tokens/token-request-storage.js';
import type { Database } from '../database.js';
import type { RefreshRotations } from './refresh-token-adapter.js';

/** A token request's storage scope: the refresh-token rotation is written at its end (refresh-token-adapter.ts). */
export class SqlTokenRequestStorage implements TokenRequestStorage {
  constructor(
    private readonly database: Database,
    private readonly rotations: RefreshRotations,
  ) {}

  inScope<T>(fn: () => Promise<T>): Promise<T> {
    return this.database.withRequestScope(fn);
  }

  finish(): Promise<RotationOutcome> {
    return this.rotations.commit();
  }
}

/**
 * A revocation's storage scope: deletions in Redis are held back until the durable (SQL) part
 * held, so a retry after an outage half-way still finds the token to revoke.
 */
export class DurableFirstRevocationStorage implements RevocationStorage {
  constructor(private readonly database: Database) {}

  inScope<T>(fn: () => Promise<T>): Promise<T> {
    return this.database.withRequestScope(fn, { deferredRedisDeletes: [] });
  }

  async finish(): Promise<void> {
    const scope = this.database.requestScope();
    const queued = scope?.deferredRedisDeletes;
    if (!scope || !queued?.length) return;
    scope.deferredRedisDeletes = [];
    await Promise.all(queued.map((run) => run()));
  }
}
