import net from 'node:net';
import { createGatehouse, type Gatehouse, type GatehouseParts } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { createTestStorage, type BackendName, type TestStorage } from './backends.js';

/**
 * A free port for a server to listen on, below Linux's ephemeral range (32768–60999): a port the
 * kernel handed out for `listen(0)` can be taken by an outgoing connection (Redis, PostgreSQL,
 * fetch) before the server binds it; ports from 10000–31999 are never used for outgoing ones.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Fast hashing parameters for tests only (the product default is m=19456 KiB, t=2). */
const TEST_ENV = {
  ARGON2_MEMORY_KIB: '8192',
  ARGON2_ITERATIONS: '1',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  // Test files sign in from one address many times a minute; the throttle has its own test.
  SIGN_IN_ATTEMPTS_PER_MINUTE: '0',
};

export interface RunningGatehouse {
  backend: BackendName;
  issuer: string;
  adminUrl: string;
  adminKey: string;
  port: number;
  instance: Gatehouse;
  storage: TestStorage;
  env: Record<string, string>;
  /** Stops the server, keeping its storage. */
  stop(): Promise<void>;
  /** Stops and starts again on the same storage and ports. */
  restart(): Promise<void>;
  /** Stops and drops the storage. */
  destroy(): Promise<void>;
  admin(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

export interface StartOptions {
  env?: Record<string, string>;
  storage?: TestStorage;
  port?: number;
  /** A logger to read the instance's log lines from (default: LOG_LEVEL, to stdout). */
  logger?: Logger;
  /** Parts in place of the stock ones (e.g. the account page's clock). */
  parts?: GatehouseParts;
}

/** Starts Gatehouse in-process on free ports over its own fresh storage. */
export async function startGatehouse(backend: BackendName, options: StartOptions = {}): Promise<RunningGatehouse> {
  const storage = options.storage ?? (await createTestStorage(backend));
  const port = options.port ?? (await freePort());
  const adminPort = await freePort();
  const adminKey = `test-admin-key-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
  const env: Record<string, string> = {
    ...TEST_ENV,
    ...storage.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_PORT: String(adminPort),
    ISSUER: `http://localhost:${port}`,
    GATEHOUSE_ADMIN_KEY: adminKey,
    ...options.env,
  };
  const boot = async () => {
    const config = loadConfig(env);
    const instance = await createGatehouse(config, options.logger ?? createLogger(config.logLevel), options.parts);
    await instance.listen();
    return instance;
  };
  let instance = await boot();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const running: RunningGatehouse = {
    backend,
    issuer: env.ISSUER!,
    adminUrl,
    adminKey,
    port,
    instance,
    storage,
    env,
    async stop() {
      await running.instance.close();
    },
    async restart() {
      await running.instance.close();
      instance = await boot();
      running.instance = instance;
    },
    async destroy() {
      await running.instance.close().catch(() => undefined);
      if (!options.storage) await storage.drop();
    },
    async admin(method, path, body, headers = {}) {
      const res = await fetch(`${adminUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
  return running;
}
