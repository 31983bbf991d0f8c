import { randomBytes } from 'node:crypto';
import type { TestStorage } from '../../test/support/backends.js';
import { freePort, startChildServer, type ChildServer } from './child-server.js';
import type { BenchContext } from './context.js';
import type { RemoteGatehouse } from './gatehouse-fixture.js';
import { ARGON2_ENV } from './settings.js';

/**
 * bench/server-process.ts on `storage`, on free loopback ports, configured like production
 * (product Argon2id cost, the run's log level); `env` is laid over that (e.g. AUDIT_LOG_ENABLED).
 */
export async function startGatehouseServer(ctx: BenchContext, name: string, storage: TestStorage, env: Record<string, string> = {}): Promise<{ server: ChildServer; gh: RemoteGatehouse }> {
  const port = await freePort();
  const adminPort = await freePort();
  const gh: RemoteGatehouse = {
    issuer: `http://localhost:${port}`,
    publicUrl: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    adminKey: randomBytes(32).toString('base64url'),
  };
  const server = await startChildServer(name, 'bench/server-process.ts', {
    ...storage.env,
    ...ARGON2_ENV,
    PORT: String(port), HOST: '127.0.0.1', ISSUER: gh.issuer,
    ADMIN_PORT: String(adminPort), ADMIN_HOST: '127.0.0.1', GATEHOUSE_ADMIN_KEY: gh.adminKey,
    LOG_LEVEL: ctx.settings.logLevel, SHUTDOWN_GRACE_SECONDS: '2',
    // The flow scenario signs in from one address far more often than a person does.
    SIGN_IN_ATTEMPTS_PER_MINUTE: '0',
    ...env,
  }, `${gh.publicUrl}/readyz`, ctx.settings.serverNodeArgs);
  return { server, gh };
}
