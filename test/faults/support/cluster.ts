import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createTestStorage, tmpRoot, PG_ADMIN_URL, TEST_REDIS_URL, type TestStorage } from '../../support/backends.js';
import { freePort } from '../../support/gatehouse.js';
import { Balancer } from './balancer.js';
import { FaultProxy } from './fault-proxy.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLOCK_SKEW_SHIM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'clock-skew.mjs');

/** One Gatehouse process (`node --import tsx src/main.ts`), restartable on the same ports. */
export class Instance {
  child?: ChildProcess;
  exits: { code: number | null; signal: NodeJS.Signals | null }[] = [];
  readonly logFile: string;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly adminPort: number,
    private readonly env: Record<string, string>,
  ) {
    this.logFile = path.join(tmpRoot(), `faults-${name}-${Date.now().toString(36)}.log`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    const log = fs.openSync(this.logFile, 'a');
    const env = { ...process.env, ...this.env, ...extraEnv };
    if (extraEnv.CLOCK_SKEW_MS) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import ${CLOCK_SKEW_SHIM}`.trim();
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const child = this.child;
    child.on('exit', (code, signal) => this.exits.push({ code, signal }));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${this.name} exited during start-up; see ${this.logFile}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after 30 s; see ${this.logFile}`);
      await sleep(100);
    }
  }

  /** SIGTERM (graceful drain) or SIGKILL; resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return this.exits.at(-1) ?? { code: null, signal: null };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    child.kill(signal);
    return exited;
  }

  /** Waits for the process to exit on its own (a fault hook killed it). */
  async exited(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child!;
    if (child.exitCode !== null || child.signalCode !== null) return this.exits.at(-1)!;
    return Promise.race([
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, sig) => resolve({ code, signal: sig })),
      ),
      sleep(timeoutMs).then(() => {
        throw new Error(`${this.name} did not exit`);
      }),
    ]);
  }

  admin(method: string, p: string, body?: unknown): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.adminPort}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${this.env.GATEHOUSE_ADMIN_KEY}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  }
}

export interface ClusterOptions {
  /** Extra environment for both instances. */
  env?: Record<string, string>;
}

/**
 * The bed: PostgreSQL and Redis behind fault proxies, two Gatehouse processes on them with the
 * same configuration and keys, and a round-robin balancer without stickiness as the issuer.
 */
export class Cluster {
  readonly pgProxy = new FaultProxy(
    { host: '127.0.0.1', port: Number(new URL(PG_ADMIN_URL).port || 5432) },
    'postgres',
  );
  readonly redisProxy = new FaultProxy(
    { host: '127.0.0.1', port: Number(new URL(TEST_REDIS_URL).port || 6379) },
    'redis',
  );
  readonly instances: Instance[] = [];
  balancer!: Balancer;
  storage!: TestStorage;
  issuer = '';
  adminKey = `faults-admin-${randomBytes(16).toString('hex')}`;
  private databaseUrl = '';
  private redisPrefix = '';

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster();
    try {
      await cluster.boot(options);
    } catch (err) {
      await cluster.stop().catch(() => undefined);
      throw err;
    }
    return cluster;
  }

  private async boot(options: ClusterOptions): Promise<void> {
    this.storage = await createTestStorage('postgres');
    this.databaseUrl = this.storage.env.DATABASE_URL!;
    this.redisPrefix = this.storage.env.REDIS_KEY_PREFIX!;
    await this.pgProxy.start();
    await this.redisProxy.start();
    const ports = [await freePort(), await freePort()];
    this.balancer = new Balancer(() =>
      this.instances
        .filter((i) => i.running)
        .map((i) => i.port)
        .concat(this.instances.every((i) => !i.running) ? ports : []),
    );
    const lbPort = await this.balancer.start();
    this.issuer = `http://127.0.0.1:${lbPort}`;
    const db = new URL(this.databaseUrl);
    db.port = String(this.pgProxy.port);
    const redis = new URL(TEST_REDIS_URL);
    redis.port = String(this.redisProxy.port);
    const shared = {
      ...this.storage.env,
      DATABASE_URL: db.toString(),
      REDIS_URL: redis.toString(),
      ISSUER: this.issuer,
      HOST: '127.0.0.1',
      GATEHOUSE_KEK: randomBytes(32).toString('base64url'),
      GATEHOUSE_ADMIN_KEY: this.adminKey,
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_SECONDS: '10',
      // The balancer appends the client address to X-Forwarded-For (sign-in throttling is per address).
      TRUSTED_PROXIES: '127.0.0.1,::1',
      // Longer than the balancer's health-check interval (250 ms) × 2: it stops routing first.
      SHUTDOWN_DELAY_SECONDS: '1',
      ...options.env,
    };
    for (const [i, port] of ports.entries()) {
      const adminPort = await freePort();
      this.instances.push(
        new Instance(`gh${i + 1}`, port!, adminPort, { ...shared, PORT: String(port), ADMIN_PORT: String(adminPort) }),
      );
    }
    // The first start migrates and generates keys; the second finds them.
    await this.instances[0]!.start();
    await this.instances[1]!.start();
  }

  /** SQL straight to PostgreSQL (not through the fault proxy), for checking invariants. */
  async sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ connectionString: this.databaseUrl });
    await c.connect();
    try {
      return (await c.query(text, values)).rows as T[];
    } finally {
      await c.end();
    }
  }

  /** Deletes every Redis key of this deployment (a flush that spares other tests' prefixes). */
  async flushRedis(): Promise<number> {
    const redis = new Redis(TEST_REDIS_URL);
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
    return deleted;
  }

  /** Server connections PostgreSQL holds for this deployment's database. */
  async pgConnections(): Promise<number> {
    const name = new URL(this.databaseUrl).pathname.slice(1);
    const [row] = await this.sql<{ n: string }>('select count(*)::int as n from pg_stat_activity where datname = $1', [
      name,
    ]);
    return Number(row!.n);
  }

  admin(method: string, p: string, body?: unknown): Promise<Response> {
    return this.instances.find((i) => i.running)!.admin(method, p, body);
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.stop('SIGTERM').catch(() => undefined)));
    await this.balancer?.stop().catch(() => undefined);
    await this.pgProxy.stop();
    await this.redisProxy.stop();
    await this.storage?.drop();
  }
}
