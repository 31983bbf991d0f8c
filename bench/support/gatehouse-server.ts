import { randomBytes } from 'node:crypto';
import type { TestStorage } from '../../test/support/backends.js';
import { freePort, startChildServer, type ChildServer } from './child-server.js';
import type { BenchContext } from './context.js';
import type { RemoteGatehouse } from './gatehouse-fixture.js';
import { ARGON2_ENV } from './settings.js';

/** A Gatehouse-to-be on free loopback ports, with its own admin key, and the env that says so. */
async function loopbackInstance(storage: TestStorage): Promise<{ gh: RemoteGatehouse; env: Record<string, string> }> {
  const port = await freePort();
  const adminPort = await freePort();
  const gh: RemoteGatehouse = {
    issuer: `http://localhost:${port}`,
    publicUrl: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    adminKey: randomBytes(32).toString('base64url'),
  };
  return {
    gh,
    env: {
      ...storage.env,
      PORT: String(port),
      ISSUER: gh.issuer,
      ADMIN_PORT: String(adminPort),
      GATEHOUSE_ADMIN_KEY: gh.adminKey,
    },
  };
}

/** What every bench server shares: production's Argon2id cost, the run's log level, loopback only. */
function processEnv(ctx: BenchContext): Record<string, string> {
  return {
    ...ARGON2_ENV,
    HOST: '127.0.0.1',
    ADMIN_HOST: '127.0.0.1',
    LOG_LEVEL: ctx.settings.logLevel,
    SHUTDOWN_GRACE_SECONDS: '2',
    // The flow scenario signs in from one address far more often than a person does.
    SIGN_IN_ATTEMPTS_PER_MINUTE: '0',
  };
}

/**
 * bench/server-process.ts on `storage`, on free loopback ports, configured like production
 * (product Argon2id cost, the run's log level); `env` is laid over that (e.g. AUDIT_LOG_ENABLED).
 */
export async function startGatehouseServer(
  ctx: BenchContext,
  name: string,
  storage: TestStorage,
  env: Record<string, string> = {},
): Promise<{ server: ChildServer; gh: RemoteGatehouse }> {
  const instance = await loopbackInstance(storage);
  const server = await startChildServer(
    name,
    'bench/server-process.ts',
    {
      ...processEnv(ctx),
      ...instance.env,
      ...env,
    },
    `${instance.gh.publicUrl}/readyz`,
    ctx.settings.serverNodeArgs,
  );
  return { server, gh: instance.gh };
}

/**
 * bench/instances-process.ts: one Gatehouse per entry of `instances`, all in one process (each on
 * its own storage and loopback ports, configured like startGatehouseServer's), so a comparison
 * between them is not also a comparison between two processes.
 */
export async function startGatehouseInstances(
  ctx: BenchContext,
  name: string,
  instances: { storage: TestStorage; env?: Record<string, string> }[],
): Promise<{ server: ChildServer; ghs: RemoteGatehouse[] }> {
  const started: { gh: RemoteGatehouse; env: Record<string, string> }[] = [];
  for (const i of instances) {
    const instance = await loopbackInstance(i.storage);
    started.push({ gh: instance.gh, env: { ...instance.env, ...i.env } });
  }
  const server = await startChildServer(
    name,
    'bench/instances-process.ts',
    {
      ...processEnv(ctx),
      GATEHOUSE_INSTANCES: JSON.stringify(started.map((s) => s.env)),
    },
    `${started.at(-1)!.gh.publicUrl}/readyz`,
    ctx.settings.serverNodeArgs,
  );
  return { server, ghs: started.map((s) => s.gh) };
}
