/**
 * `npm run bench`: Gatehouse under autocannon on loopback, on PGlite and on PostgreSQL + Redis,
 * against the bare-oidc-provider floor. Writes docs/benchmarks.md and prints the same tables.
 * Stops by itself (a watchdog bounds the whole run) and always removes its child processes,
 * databases, PGlite directories and Redis keys, on failure and on SIGINT / SIGTERM too.
 *
 * Settings: BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_FLOWS,
 * BENCH_FLOW_CONCURRENCY, BENCH_BACKENDS, BENCH_LOG_LEVEL, BENCH_SERVER_NODE_ARGS, BENCH_REPORT_FILE,
 * BENCH_SCENARIOS, BENCH_AUDIT_ROUNDS (settings.ts). BENCH_SCENARIOS=audit runs only the audit
 * on / off pair and writes no report unless BENCH_REPORT_FILE names one.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PG_ADMIN_URL, TEST_REDIS_URL, type BackendName, type TestStorage } from '../test/support/backends.js';
import { startFloor, type Floor } from './scenarios/floor.js';
import type { FloorKind } from './support/context.js';
import { benchAuditCost } from './scenarios/audit-cost.js';
import { benchGatehouse } from './scenarios/gatehouse.js';
import { ROOT, killAllChildServersNow, stopAllChildServers } from './support/child-server.js';
import type { BenchContext } from './support/context.js';
import { machineFacts, renderMarkdown, writeReport, type Report } from './support/report.js';
import { ARGON2_ENV, loadSettings, watchdogMs } from './support/settings.js';
import { verdicts } from './support/verdicts.js';

const settings = loadSettings(process.env);
const startedAt = Date.now();
const elapsed = () => `${String(Math.round((Date.now() - startedAt) / 1000)).padStart(4)} s`;
const progress = (message: string) => process.stderr.write(`[${elapsed()}] ${message}\n`);

const ctx: BenchContext = {
  settings,
  results: {
    rows: [],
    floorPeak: {},
    floorPairs: {},
    peak: {},
    atPartialLoad: {},
    rotations: {},
    flowsVsArgon2: {},
    auditCost: {},
    auditDiscard: {},
    auditSelfCheck: {},
  },
  progress,
  storages: new Set<TestStorage>(),
};
const failures: string[] = [];

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllChildServers();
    for (const s of ctx.storages)
      await s.drop().catch((err) => progress(`could not drop ${s.backend} storage: ${(err as Error).message}`));
    ctx.storages.clear();
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
  progress(`watchdog: the bench ran past ${watchdogMs(settings) / 1000} s; stopping`);
  void cleanup().finally(() => process.exit(2));
}, watchdogMs(settings));
watchdog.unref();

async function softwareVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const pkg of ['oidc-provider', 'koa', 'autocannon', '@electric-sql/pglite']) {
    try {
      versions[pkg] = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
    } catch {
      /* not installed */
    }
  }
  if (!settings.backends.includes('postgres')) return versions;
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
  return versions;
}

async function main(): Promise<number> {
  const s = settings;
  progress(
    `bench: ${s.seconds} s per scenario (+${s.warmupSeconds} s warm-up), ${s.connections} connections, backends ${s.backends.join(', ')}`,
  );
  const machine = machineFacts(await softwareVersions());
  try {
    const all = s.scenarios === 'all';
    const floor: Floor | undefined = !all
      ? undefined
      : await startFloor(ctx).catch((err) => {
          failures.push(`library floor: ${(err as Error).message}`);
          return undefined;
        });
    const floorRun = (backend: BackendName) => async (kind: FloorKind) => {
      await floor?.measureFor(backend, kind).catch((err) => {
        failures.push(`library floor: ${(err as Error).message}`);
      });
    };
    for (const backend of s.backends) {
      if (all)
        await benchGatehouse(ctx, backend, floorRun(backend)).catch((err) => {
          failures.push((err as Error).message);
          progress(`FAILED ${(err as Error).message}`);
        });
      await benchAuditCost(ctx, backend).catch((err) => {
        failures.push((err as Error).message);
        progress(`FAILED ${(err as Error).message}`);
      });
    }
    await floor?.stop();
  } finally {
    await cleanup();
  }
  const report: Report = {
    machine,
    settings: {
      seconds: s.seconds,
      warmupSeconds: s.warmupSeconds,
      connections: s.connections,
      flows: s.flows,
      flowConcurrency: s.flowConcurrency,
      argon2: `Argon2id m=${ARGON2_ENV.ARGON2_MEMORY_KIB} KiB, t=${ARGON2_ENV.ARGON2_ITERATIONS}, p=${ARGON2_ENV.ARGON2_PARALLELISM} (product defaults)`,
    },
    rows: ctx.results.rows,
    verdicts: verdicts(ctx.results, s.backends, s.scenarios),
    failures,
    totalSeconds: (Date.now() - startedAt) / 1000,
  };
  // A partial run never overwrites the full report in docs/benchmarks.md.
  const file = s.scenarios === 'all' || s.reportFile ? writeReport(ROOT, report, s.reportFile) : undefined;
  process.stdout.write(
    `\n${renderMarkdown(report)}\n${file ? `written to ${path.relative(process.cwd(), file)}\n` : ''}`,
  );
  return failures.length ? 1 : 0;
}

main().then(
  (code) => {
    clearTimeout(watchdog);
    process.exitCode = code;
  },
  async (err) => {
    progress(`bench failed: ${(err as Error).stack ?? err}`);
    await cleanup();
    clearTimeout(watchdog);
    process.exitCode = 1;
  },
);
