import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadResult } from './load.js';

export interface Row {
  scenario: string;
  /** The server under test. */
  target: string;
  /** 'req/s', 'rotations/s', 'flows/s' */
  unit: string;
  rate: number;
  p50: number;
  p99: number;
  serverCores?: number;
  notes: string[];
}

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  node: string;
  os: string;
  memoryGiB: number;
  versions: Record<string, string>;
}

export function machineFacts(versions: Record<string, string>): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    versions,
  };
}

export function rowFrom(scenario: string, target: string, unit: string, r: LoadResult, extraNotes: string[] = []): Row {
  const notes = [...extraNotes];
  const failed = r.failed + r.errors;
  if (failed)
    notes.push(
      `${failed} failed (${Object.entries(r.statuses)
        .map(([c, n]) => `${c}×${n}`)
        .concat(r.errors ? [`errors×${r.errors}`] : [])
        .join(', ')})`,
    );
  return { scenario, target, unit, rate: r.rps, p50: r.p50, p99: r.p99, serverCores: r.serverCores, notes };
}

export interface Verdict {
  label: string;
  value: string;
  target: string;
  pass: boolean | undefined;
}

export interface Report {
  machine: Machine;
  settings: {
    seconds: number;
    warmupSeconds: number;
    connections: number;
    flows: number;
    flowConcurrency: number;
    argon2: string;
  };
  rows: Row[];
  verdicts: Verdict[];
  failures: string[];
  totalSeconds: number;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–');

/** The "Start-up and memory (issue 16)" section, placed above "Latest run". */
const START_UP_SECTION = new URL('../start-time.md', import.meta.url);
/** "Where the time goes" (profiles of the targets missed), written by hand, placed after "Latest run". */
const PROFILES_SECTION = new URL('../where-time-goes.md', import.meta.url);

const HEADER = `# Benchmarks

Produced by \`npm run bench\` (bench/run.ts); the file is rewritten on every run. Numbers are only
comparable between runs on the same machine with nothing else running.

**Method.** Each server runs in its own Node process (\`node --import tsx bench/server-process.ts\`),
so the load generator (autocannon, in the runner process) does not share its event loop; all of
them share one machine and talk over loopback. Gatehouse runs once on embedded PGlite and once on
PostgreSQL + Redis (127.0.0.1; a fresh database and Redis key prefix, dropped afterwards), with
\`LOG_LEVEL=info\` (the product default; per-request access lines are at debug).
- Each scenario gets a short warm-up (a freshly started server a longer one), then a
  fixed-duration closed-loop run over N keep-alive connections. req/s counts 2xx responses
  only; p50/p99 are exact percentiles of 2xx response times.
- *Server CPU* is the server process's user + system CPU time over wall time (1.00 = one core busy;
  the database and Redis are not included). *CPU ms / op* is that CPU time per successful
  operation; it holds up better than req/s when other work competes for the cores.
- The *70 % of peak* pass re-runs client_credentials JWT at 70 % of the peak just measured
  (autocannon \`overallRate\`) with each connection's requests evenly spaced. autocannon on its own
  refills every connection's quota once a second and sends it back to back, which is peak load for
  part of each second; that run is shown too, for comparison.
- The *library floor* is bare oidc-provider (bench/floor-server.ts: memory adapter, one static
  client, the same ES256 JWT access token, or an opaque one without a resource) doing the same
  request: client_credentials JWT, client_credentials opaque, and introspection of an opaque
  token. Each is measured right before the backend's own run of it, and each ratio uses that
  adjacent measurement.
- Refresh rotation: every request presents a fresh, unused refresh token. Each connection carries
  its own chain forward (the rotated token from each response is the next request's token); the
  chains start from refresh tokens minted by the code-flow scenario.
- *Audit log on / off*: client_credentials JWT on Gatehouse instances alike but for
  \`AUDIT_LOG_ENABLED\`, each on fresh storage, all in one process (bench/instances-process.ts):
  on this machine two processes of the same code differ by up to ±10 % for tens of seconds (JIT
  state, CPU placement), more than the effect measured. The load alternates between the audit-on
  and the audit-off instance in 1 s turns over keep-alive connections to both (undici,
  bench/support/alternating-load.ts); the first 250 ms of each turn are not counted, so the
  requests still in flight to the other instance, and the audit batch it writes after its turn,
  end outside the measured window. BENCH_AUDIT_ROUNDS pairs of turns (48), the order alternating
  (on-off, off-on, …). The check is the median of the pairs' on ÷ off ratios, shown with its
  distribution-free 95 % interval (the order statistics n/2 ± 0.98·√n); the means are shown too.
  Then, for information: an audit-on instance that records and encodes every event as usual
  but never writes its batches (bench/instances-process.ts), against the audit-off one: the
  share of the cost that is Gatehouse's own work on the event loop; a self-check, the same
  procedure between two audit-off instances (what it reads instead of 1.00× is the check's
  resolution during this run); and on PostgreSQL + Redis a control, the audit-off instance with
  and without another process (bench/audit-row-writer.ts) writing the audit-on side's rate of
  rows into its database during every other turn: the share of the cost that is the database's
  work on shared cores.

**Targets.**
- on PostgreSQL + Redis ≥ 0.85× the library floor for client_credentials (JWT and opaque) and
  introspection; embedded (PGlite) client_credentials ≥ 0.5× the floor;
- refresh-token rotation ≥ 1,200 rotations/s per app core (rotations per second of server-process
  CPU: Gatehouse is one Node process, so on a machine with a core to spare this is also its rate);
- p99 < 25 ms at 70 % of peak (client_credentials JWT);
- code + PKCE flows ≥ 0.9× the raw Argon2id verification rate at the same parameters and
  concurrency, measured right after the flows in the same run (a sign-in costs one verification);
- client_credentials JWT with the audit log on ≥ 0.95× the same run with it off.
`;

export function renderMarkdown(report: Report): string {
  const { machine: m, settings: s } = report;
  const lines: string[] = [HEADER];
  // Written by hand from bench/start-time.ts runs (a different harness from this one), kept across runs.
  lines.push(fs.readFileSync(START_UP_SECTION, 'utf8').trimEnd(), '');
  lines.push('## Latest run', '');
  lines.push(`- Date: ${m.date}; total bench time ${Math.round(report.totalSeconds)} s`);
  lines.push(`- Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.os}`);
  lines.push(
    `- Software: Node ${m.node}, ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  lines.push(
    `- Settings: ${s.seconds} s per scenario after ${s.warmupSeconds} s warm-up, ${s.connections} connections (BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS); code flows: ${s.flows} flows, ${s.flowConcurrency} at a time (BENCH_FLOWS, BENCH_FLOW_CONCURRENCY)`,
  );
  lines.push(`- Password hashing in the code flow: ${s.argon2}`);
  lines.push('');
  lines.push('| Scenario | Server | Rate | p50 ms | p99 ms | Server CPU | CPU ms / op | Notes |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---|');
  for (const r of report.rows) {
    const cores = r.serverCores !== undefined ? r.serverCores.toFixed(2) : '–';
    const perOp = r.serverCores !== undefined && r.rate > 0 ? ((r.serverCores / r.rate) * 1000).toFixed(2) : '–';
    lines.push(
      `| ${r.scenario} | ${r.target} | ${int(r.rate)} ${r.unit} | ${ms(r.p50)} | ${ms(r.p99)} | ${cores} | ${perOp} | ${r.notes.join('; ')} |`,
    );
  }
  lines.push('');
  lines.push('| Check | Measured | Target | Result |');
  lines.push('|---|---:|---:|---|');
  for (const v of report.verdicts) {
    const result =
      v.target === '—' ? 'for information' : v.pass === undefined ? 'not measured' : v.pass ? 'pass' : '**miss**';
    lines.push(`| ${v.label} | ${v.value} | ${v.target} | ${result} |`);
  }
  if (report.failures.length) {
    lines.push('', '**Failures during this run:**', '');
    for (const f of report.failures) lines.push(`- ${f.replace(/\n/g, ' ')}`);
  }
  lines.push('');
  // Written by hand from bench:profile runs, kept across runs.
  if (fs.existsSync(PROFILES_SECTION)) lines.push(fs.readFileSync(PROFILES_SECTION, 'utf8').trimEnd(), '');
  return lines.join('\n');
}

/** Writes the report to `file` (relative to `root`), docs/benchmarks.md unless told otherwise. */
export function writeReport(root: string, report: Report, file = path.join('docs', 'benchmarks.md')): string {
  file = path.resolve(root, file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderMarkdown(report));
  return file;
}
