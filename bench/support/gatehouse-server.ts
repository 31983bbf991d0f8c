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

/**
 * bench/instances-process.ts: one Gatehouse per entry of `instances`, all in one process (each on
 * its own storage and loopback ports, configured like startGatehouseServer's), so a comparison
 * between them is not also a comparison between two processes.
 */
export async function startGatehouseInstances(ctx: BenchContext, name: string, instances: { storage: TestStorage; env?: Record<string, string> }[]): Promise<{ server: ChildServer; ghs: RemoteGatehouse[] }> {
  const ghs: RemoteGatehouse[] = [];
  const overrides: Record<string, string>[] = [];
  for (const instance of instances) {
    const port = await freePort();
    const adminPort = await freePort();
    const gh: RemoteGatehouse = {
      issuer: `http://localhost:${port}`,
      publicUrl: `http://127.0.0.1:${port}`,
      adminUrl: `http://127.0.0.1:${adminPort}`,
      adminKey: randomBytes(32).toString('base64url'),
    };
    ghs.push(gh);
    overrides.push({
      ...instance.storage.env,
      PORT: String(port), ISSUER: gh.issuer, ADMIN_PORT: String(adminPort), GATEHOUSE_ADMIN_KEY: gh.adminKey,
      ...instance.env,
    });
  }
  const server = await startChildServer(name, 'bench/instances-process.ts', {
    ...ARGON2_ENV,
    HOST: '127.0.0.1', ADMIN_HOST: '127.0.0.1',
    LOG_LEVEL: ctx.settings.logLevel, SHUTDOWN_GRACE_SECONDS: '2',
    SIGN_IN_ATTEMPTS_PER_MINUTE: '0',
    GATEHOUSE_INSTANCES: JSON.stringify(overrides),
  }, `${ghs.at(-1)!.publicUrl}/readyz`, ctx.settings.serverNodeArgs);
  return { server, ghs };
}
