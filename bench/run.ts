/**
 * `npm run bench`: Gatehouse under autocannon on loopback, on PGlite and on PostgreSQL + Redis,
 * against the bare-oidc-provider floor. Writes docs/benchmarks.md and prints the same tables.
 * Stops by itself (a watchdog bounds the whole run) and always removes its child processes,
 * databases, PGlite directories and Redis keys.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createTestStorage, PG_ADMIN_URL, TEST_REDIS_URL, type BackendName, type TestStorage } from '../test/support/backends.js';
import { ROOT, cpuSeconds, freePort, killAllChildServersNow, startChildServer, stopAllChildServers, type ChildServer } from './support/child-server.js';
import { FORM, RESOURCE, basicAuth, prepareFixture, refreshChains, runCodeFlows, type ChainStats, type RemoteGatehouse } from './support/gatehouse-fixture.js';
import { measure, type LoadResult, type LoadSpec } from './support/load.js';
import { machineFacts, renderMarkdown, rowFrom, writeReport, type Report, type Row, type Verdict } from './support/report.js';

function intSetting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min} (got "${raw}")`);
  return n;
}

const SECONDS = intSetting('BENCH_SECONDS', 10, 1);
const WARMUP_SECONDS = intSetting('BENCH_WARMUP_SECONDS', Math.min(2, SECONDS), 0);
const CONNECTIONS = intSetting('BENCH_CONNECTIONS', 16, 1);
const FLOWS = intSetting('BENCH_FLOWS', 200, 1);
const FLOW_CONCURRENCY = intSetting('BENCH_FLOW_CONCURRENCY', 4, 1);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',').map((s) => s.trim()).filter(Boolean) as BackendName[];
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
/** Extra node flags for the server processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them. */
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** The product defaults (config.ts), spelled out so the report states what the flows paid. */
const ARGON2 = { ARGON2_MEMORY_KIB: '19456', ARGON2_ITERATIONS: '2', ARGON2_PARALLELISM: '1' };
/** Load at which the latency target is checked, as a share of the measured peak. */
const PARTIAL_LOAD = 0.7;
/** Refresh chains kept in reserve per connection, for chains that break mid-run. */
const SPARE_CHAINS_PER_CONNECTION = 1;

for (const b of BACKENDS) if (b !== 'pglite' && b !== 'postgres') throw new Error(`BENCH_BACKENDS: unknown backend "${b}"`);

/** Generous upper bound for the whole run; past it the runner cleans up and exits. */
const scenarioCount = 1 + BACKENDS.length * 8;
const WATCHDOG_MS = (180 + 2 * scenarioCount * (SECONDS + WARMUP_SECONDS) + BACKENDS.length * 120) * 1000;

const startedAt = Date.now();
const elapsed = () => `${String(Math.round((Date.now() - startedAt) / 1000)).padStart(4)} s`;
const progress = (msg: string) => process.stderr.write(`[${elapsed()}] ${msg}\n`);

const storages = new Set<TestStorage>();
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllChildServers();
    for (const s of storages) await s.drop().catch((err) => progress(`could not drop ${s.backend} storage: ${(err as Error).message}`));
    storages.clear();
  })();
  return cleaning;
}
process.on('exit', killAllChildServersNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping servers and dropping databases`);
    void cleanup().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  progress(`watchdog: the bench ran past ${WATCHDOG_MS / 1000} s; stopping`);
  void cleanup().finally(() => process.exit(2));
}, WATCHDOG_MS);
watchdog.unref();

const fmt = (r: { rps?: number; rate?: number; p50: number; p99: number; serverCores?: number }) =>
  `${Math.round(r.rps ?? r.rate ?? 0)}/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms${r.serverCores !== undefined ? ` cpu ${r.serverCores.toFixed(2)}` : ''}`;

/** Warm-up (discarded), then the measured run. */
async function warmAndMeasure(label: string, spec: LoadSpec, server: ChildServer, warmupSpec: LoadSpec = spec): Promise<LoadResult> {
  if (WARMUP_SECONDS > 0) await measure({ ...warmupSpec, seconds: WARMUP_SECONDS });
  const result = await measure(spec, server.pid);
  progress(`${label}: ${fmt(result)}${result.failed + result.errors ? ` (${result.failed + result.errors} failed)` : ''}`);
  return result;
}

const rows: Row[] = [];
const failures: string[] = [];
const peaks: Partial<Record<'floor' | BackendName, LoadResult>> = {};
const atPartialLoad: Partial<Record<BackendName, LoadResult>> = {};
const rotations: Partial<Record<BackendName, LoadResult>> = {};

async function benchFloor(): Promise<void> {
  const port = await freePort();
  const client = { client_id: 'floor-client', client_secret: randomBytes(32).toString('base64url') };
  const url = `http://127.0.0.1:${port}`;
  const server = await startChildServer('floor', 'bench/floor-server.ts', {
    FLOOR_PORT: String(port), FLOOR_CLIENT_ID: client.client_id, FLOOR_CLIENT_SECRET: client.client_secret, FLOOR_RESOURCE: RESOURCE,
  }, `${url}/.well-known/openid-configuration`, SERVER_NODE_ARGS);
  try {
    const body = `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`;
    const headers = { 'content-type': FORM, authorization: basicAuth(client) };
    const check = await fetch(`${url}/token`, { method: 'POST', headers, body }).then((r) => r.json()) as { access_token?: string };
    if (check.access_token?.split('.').length !== 3) throw new Error(`floor did not issue a JWT: ${JSON.stringify(check)}`);
    const r = await warmAndMeasure('floor: client_credentials JWT', { url: `${url}/token`, method: 'POST', headers, body, connections: CONNECTIONS, seconds: SECONDS }, server);
    peaks.floor = r;
    rows.push(rowFrom('client_credentials, JWT access token', 'library floor (bare oidc-provider, memory)', 'req/s', r));
  } finally {
    await server.stop();
  }
}

async function benchGatehouse(backend: BackendName): Promise<void> {
  const target = backend === 'pglite' ? 'Gatehouse, PGlite' : 'Gatehouse, PostgreSQL + Redis';
  progress(`${target}: preparing storage`);
  const storage = await createTestStorage(backend);
  storages.add(storage);
  const port = await freePort();
  const adminPort = await freePort();
  const gh: RemoteGatehouse = {
    issuer: `http://localhost:${port}`,
    publicUrl: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    adminKey: randomBytes(32).toString('base64url'),
  };
  const server = await startChildServer(`gatehouse-${backend}`, 'bench/server-process.ts', {
    ...storage.env,
    ...ARGON2,
    PORT: String(port), HOST: '127.0.0.1', ISSUER: gh.issuer,
    ADMIN_PORT: String(adminPort), ADMIN_HOST: '127.0.0.1', GATEHOUSE_ADMIN_KEY: gh.adminKey,
    LOG_LEVEL, SHUTDOWN_GRACE_SECONDS: '2',
  }, `${gh.publicUrl}/readyz`, SERVER_NODE_ARGS);
  progress(`${target}: server up (pid ${server.pid})`);
  try {
    const fixture = await prepareFixture(gh);
    const auth = basicAuth(fixture.machine);
    const post = (p: string, body: string): LoadSpec => ({
      url: `${gh.publicUrl}${p}`, method: 'POST', headers: { 'content-type': FORM, authorization: auth }, body, connections: CONNECTIONS, seconds: SECONDS,
    });
    const get = (p: string): LoadSpec => ({ url: `${gh.publicUrl}${p}`, connections: CONNECTIONS, seconds: SECONDS });
    const scenario = async (name: string, spec: LoadSpec, notes: string[] = []) => {
      const r = await warmAndMeasure(`${backend}: ${name}`, spec, server);
      rows.push(rowFrom(name, target, 'req/s', r, notes));
      return r;
    };

    const jwtSpec = post('/token', `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`);
    const peak = await scenario('client_credentials, JWT access token', jwtSpec);
    peaks[backend] = peak;
    const rate = Math.max(1, Math.round(peak.rps * PARTIAL_LOAD));
    const offered = `${rate.toLocaleString('en-US')}/s offered`;
    const partial = await measure({ ...jwtSpec, overallRate: rate, paced: true }, server.pid);
    progress(`${backend}: client_credentials JWT at ${rate}/s, paced: ${fmt(partial)}`);
    atPartialLoad[backend] = partial;
    rows.push(rowFrom(`client_credentials, JWT — at 70 % of peak, paced`, target, 'req/s', partial, [`${offered}, evenly spaced per connection`]));
    const bursty = await measure({ ...jwtSpec, overallRate: rate }, server.pid);
    progress(`${backend}: client_credentials JWT at ${rate}/s, autocannon refill: ${fmt(bursty)}`);
    rows.push(rowFrom(`client_credentials, JWT — at 70 % of peak, autocannon default`, target, 'req/s', bursty, [`${offered}; each connection's quota is refilled once a second and sent back to back`]));

    await scenario('client_credentials, opaque access token', post('/token', 'grant_type=client_credentials'));
    await scenario('introspection of an opaque token', post('/token/introspection', `token=${encodeURIComponent(fixture.opaqueToken)}&token_type_hint=access_token`));
    await scenario('GET /jwks', get('/jwks'));
    await scenario('GET /.well-known/openid-configuration', get('/.well-known/openid-configuration'));

    progress(`${backend}: ${FLOWS} code + PKCE flows, ${FLOW_CONCURRENCY} at a time`);
    const cpu0 = cpuSeconds(server.pid);
    const flows = await runCodeFlows(gh, fixture, FLOWS, FLOW_CONCURRENCY);
    const cpu1 = cpuSeconds(server.pid);
    const flowCores = cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / flows.seconds : undefined;
    progress(`${backend}: code flows: ${fmt({ rate: flows.flowsPerSecond, p50: flows.p50, p99: flows.p99, serverCores: flowCores })}${flows.failed ? ` (${flows.failed} failed: ${flows.firstError})` : ''}`);
    rows.push({
      scenario: `code + PKCE flow (authorize → login → consent → token), ${FLOW_CONCURRENCY} concurrent`,
      target, unit: 'flows/s', rate: flows.flowsPerSecond, p50: flows.p50, p99: flows.p99, serverCores: flowCores,
      notes: [`${flows.flows} flows; p50/p99 are per whole flow`, ...(flows.failed ? [`${flows.failed} failed: ${flows.firstError}`] : [])],
    });

    // Refresh rotation: one chain per connection, carried forward; warm-up chains are separate.
    const pool = flows.refreshTokens;
    const needed = (2 + SPARE_CHAINS_PER_CONNECTION) * CONNECTIONS;
    if (pool.length < needed) {
      progress(`${backend}: minting ${needed - pool.length} more refresh tokens`);
      const more = await runCodeFlows(gh, fixture, needed - pool.length, FLOW_CONCURRENCY);
      pool.push(...more.refreshTokens);
    }
    const warmStats: ChainStats = { chainsStarted: 0, chainBreaks: 0, exhausted: 0 };
    const stats: ChainStats = { chainsStarted: 0, chainBreaks: 0, exhausted: 0 };
    const refresh = (s: ChainStats): LoadSpec => ({ ...post('/token', ''), setupClient: refreshChains(pool, fixture.app, s) });
    const r = await warmAndMeasure(`${backend}: refresh rotation`, refresh(stats), server, refresh(warmStats));
    rotations[backend] = r;
    rows.push(rowFrom('refresh-token rotation (fresh token every request)', target, 'rotations/s', r, [
      `${stats.chainsStarted} chains${stats.chainBreaks ? `, ${stats.chainBreaks} broken` : ''}${stats.exhausted ? `, pool exhausted ×${stats.exhausted}` : ''}`,
    ]));
  } catch (err) {
    throw new Error(`${target}: ${(err as Error).message}\n--- server log ---\n${server.logTail(15)}`, { cause: err });
  } finally {
    await server.stop();
    await storage.drop();
    storages.delete(storage);
  }
}

async function serviceVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const pkg of ['oidc-provider', 'koa', 'autocannon', '@electric-sql/pglite']) {
    try {
      versions[pkg] = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
    } catch { /* not installed */ }
  }
  if (BACKENDS.includes('postgres')) {
    try {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      versions.PostgreSQL = (await c.query('show server_version')).rows[0].server_version;
      await c.end();
      const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      versions.Redis = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
      await redis.quit();
    } catch (err) {
      failures.push(`PostgreSQL / Redis not reachable: ${(err as Error).message}`);
    }
  }
  return versions;
}

function verdicts(): Verdict[] {
  const out: Verdict[] = [];
  const floor = peaks.floor?.rps;
  for (const backend of BACKENDS) {
    const name = backend === 'pglite' ? 'PGlite' : 'PostgreSQL + Redis';
    const peak = peaks[backend]?.rps;
    const ratio = floor && peak ? peak / floor : undefined;
    out.push({
      label: `client_credentials JWT, ${name} ÷ library floor`,
      value: ratio !== undefined ? `${ratio.toFixed(2)}× (${Math.round(peak!)} / ${Math.round(floor!)})` : '–',
      target: backend === 'postgres' ? '≥ 0.85×' : '—',
      pass: ratio !== undefined ? ratio >= 0.85 : undefined,
    });
  }
  for (const backend of BACKENDS) {
    const name = backend === 'pglite' ? 'PGlite' : 'PostgreSQL + Redis';
    const r = rotations[backend];
    // Per app core: rotations per second of server-process CPU. On this machine the server shares
    // the cores with the database, Redis and the load generator, so its wall-clock rate is lower.
    const perCore = r?.serverCores ? r.rps / r.serverCores : undefined;
    out.push({
      label: `refresh rotation, ${name}, per app core`,
      value: r ? `${perCore !== undefined ? `${Math.round(perCore)}/s per core` : '–'} (${Math.round(r.rps)}/s at ${r.serverCores?.toFixed(2) ?? '?'} cores)` : '–',
      target: '≥ 1,200/s',
      pass: perCore !== undefined ? perCore >= 1200 : undefined,
    });
  }
  for (const backend of BACKENDS) {
    const name = backend === 'pglite' ? 'PGlite' : 'PostgreSQL + Redis';
    const r = atPartialLoad[backend];
    out.push({ label: `p99 at 70 % of peak, client_credentials JWT, ${name}`, value: r ? `${r.p99.toFixed(2)} ms` : '–', target: '< 25 ms', pass: r ? r.p99 < 25 : undefined });
  }
  return out;
}

async function main(): Promise<number> {
  progress(`bench: ${SECONDS} s per scenario (+${WARMUP_SECONDS} s warm-up), ${CONNECTIONS} connections, backends ${BACKENDS.join(', ')}`);
  const versions = await serviceVersions();
  const machine = machineFacts(versions);
  try {
    try {
      await benchFloor();
    } catch (err) {
      failures.push(`library floor: ${(err as Error).message}`);
    }
    for (const backend of BACKENDS) {
      try {
        await benchGatehouse(backend);
      } catch (err) {
        failures.push((err as Error).message);
        progress(`FAILED ${(err as Error).message}`);
      }
    }
  } finally {
    await cleanup();
  }
  const report: Report = {
    machine,
    settings: {
      seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, flows: FLOWS, flowConcurrency: FLOW_CONCURRENCY,
      argon2: `Argon2id m=${ARGON2.ARGON2_MEMORY_KIB} KiB, t=${ARGON2.ARGON2_ITERATIONS}, p=${ARGON2.ARGON2_PARALLELISM} (product defaults)`,
    },
    rows,
    verdicts: verdicts(),
    failures,
    totalSeconds: (Date.now() - startedAt) / 1000,
  };
  const file = writeReport(ROOT, report);
  process.stdout.write(`\n${renderMarkdown(report)}\nwritten to ${path.relative(process.cwd(), file)}\n`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => { clearTimeout(watchdog); process.exitCode = code; },
  async (err) => {
    progress(`bench failed: ${(err as Error).stack ?? err}`);
    await cleanup();
    process.exitCode = 1;
  },
);
