import type { BackendName } from '../../test/support/backends.js';

/** Everything a run can be told, from BENCH_* environment variables, with defaults. */
export interface BenchSettings {
  /** Measured seconds per scenario. @default 10 (BENCH_SECONDS) */
  seconds: number;
  /** Discarded warm-up seconds before each scenario. @default min(2, seconds) (BENCH_WARMUP_SECONDS) */
  warmupSeconds: number;
  /** Keep-alive connections of the load generator. @default 16 (BENCH_CONNECTIONS) */
  connections: number;
  /** Code + PKCE flows measured per backend. @default 200 (BENCH_FLOWS) */
  flows: number;
  /** Flows in flight at once. @default 4 (BENCH_FLOW_CONCURRENCY) */
  flowConcurrency: number;
  /** @default pglite,postgres (BENCH_BACKENDS) */
  backends: BackendName[];
  /** Gatehouse LOG_LEVEL. @default info, the product default (BENCH_LOG_LEVEL) */
  logLevel: string;
  /** Extra node flags for the server processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. (BENCH_SERVER_NODE_ARGS) */
  serverNodeArgs: string[];
  /** Where the report is written, relative to the repository root. @default docs/benchmarks.md (BENCH_REPORT_FILE) */
  reportFile: string | undefined;
  /** `all`, or `audit` for only the audit on / off pair (a quicker look at one target). @default all (BENCH_SCENARIOS) */
  scenarios: 'all' | 'audit';
  /** Counted pairs of 1 s turns in each audit comparison (on / off, the self-check, the control). @default 48 (BENCH_AUDIT_ROUNDS) */
  auditRounds: number;
}

/** The product's Argon2id defaults (config.ts), spelled out so the report states what the flows paid. */
export const ARGON2_ENV = { ARGON2_MEMORY_KIB: '19456', ARGON2_ITERATIONS: '2', ARGON2_PARALLELISM: '1' };
/** Share of the measured peak at which the latency target is checked. */
export const PARTIAL_LOAD = 0.7;
/** Extra warm-up of a freshly started server, in scenario warm-ups. */
export const FRESH_SERVER_WARMUP_FACTOR = 2;

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min} (got "${raw}")`);
  return n;
}

export function loadSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const seconds = intSetting(env, 'BENCH_SECONDS', 10, 1);
  const backends = (env.BENCH_BACKENDS ?? 'pglite,postgres')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const b of backends)
    if (b !== 'pglite' && b !== 'postgres')
      throw new Error(`BENCH_BACKENDS: unknown backend "${b}" (pglite, postgres)`);
  const scenarios = env.BENCH_SCENARIOS || 'all';
  if (scenarios !== 'all' && scenarios !== 'audit')
    throw new Error(`BENCH_SCENARIOS: unknown value "${scenarios}" (all, audit)`);
  return {
    seconds,
    warmupSeconds: intSetting(env, 'BENCH_WARMUP_SECONDS', Math.min(2, seconds), 0),
    connections: intSetting(env, 'BENCH_CONNECTIONS', 16, 1),
    flows: intSetting(env, 'BENCH_FLOWS', 200, 1),
    flowConcurrency: intSetting(env, 'BENCH_FLOW_CONCURRENCY', 4, 1),
    backends: backends as BackendName[],
    logLevel: env.BENCH_LOG_LEVEL ?? 'info',
    serverNodeArgs: (env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    reportFile: env.BENCH_REPORT_FILE || undefined,
    scenarios,
    auditRounds: intSetting(env, 'BENCH_AUDIT_ROUNDS', 48, 1),
  };
}

/** Generous upper bound for a whole run; past it the runner cleans up and exits. */
export function watchdogMs(s: BenchSettings): number {
  const autocannonRuns = s.backends.length * 9;
  // The audit comparisons: one process start, three fresh warm-ups, and up to three comparisons
  // of 2 s per pair (plus warm-up pairs) per backend.
  const auditPair =
    s.backends.length * (120 + 3 * FRESH_SERVER_WARMUP_FACTOR * s.warmupSeconds + 3 * 2 * (s.auditRounds + 2));
  return (
    (180 +
      2 * autocannonRuns * (s.seconds + s.warmupSeconds) +
      s.backends.length * (120 + 4 * s.warmupSeconds) +
      auditPair) *
    1000
  );
}
