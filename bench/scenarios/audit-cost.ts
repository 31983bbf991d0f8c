import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createTestStorage, type BackendName, type TestStorage } from '../../test/support/backends.js';
import { ROOT, type ChildServer } from '../support/child-server.js';
import { backendLabel, measureOn, type BenchContext } from '../support/context.js';
import { FORM, RESOURCE, basicAuth, prepareFixture } from '../support/gatehouse-fixture.js';
import { startGatehouseServer } from '../support/gatehouse-server.js';
import { measure, type LoadResult, type LoadSpec } from '../support/load.js';
import { rowFrom } from '../support/report.js';
import { FRESH_SERVER_WARMUP_FACTOR } from '../support/settings.js';

/**
 * Each run lasts this share of a scenario's seconds. Short runs, many of them: on this kind of
 * shared machine the rate of one server drifts by ±20 % within a minute, and a pair of adjacent
 * runs sees the same conditions far more often than two runs a minute apart.
 */
const RUN_SHARE = 0.25;

type Mode = 'on' | 'off';

interface Side { mode: Mode; storage: TestStorage; server?: ChildServer; spec?: LoadSpec; runs: LoadResult[] }

/**
 * What the audit log costs the token endpoint: client_credentials JWT on two servers alike but for
 * AUDIT_LOG_ENABLED, each on fresh storage of `backend`, both up for the whole pair. Each round
 * measures both back to back, in alternating order (on-off, off-on, …) so neither side always
 * follows the other; the verdict is the median of the rounds' on ÷ off ratios, and each side is
 * also reported as the mean of its runs.
 */
export async function benchAuditCost(ctx: BenchContext, backend: BackendName): Promise<void> {
  const { settings } = ctx;
  const label = `Gatehouse, ${backendLabel(backend)}`;
  const runSeconds = Math.max(1, Math.round(settings.seconds * RUN_SHARE));
  const runWarmupSeconds = Math.min(1, settings.warmupSeconds);
  ctx.progress(`${label}: audit on / off pair, preparing storage`);
  const sides: Side[] = [];
  try {
    for (const mode of ['on', 'off'] as const) {
      const storage = await createTestStorage(backend);
      ctx.storages.add(storage);
      sides.push({ mode, storage, runs: [] });
    }
    const started = await Promise.allSettled(sides.map(async (side) => {
      const { server, gh } = await startGatehouseServer(ctx, `gatehouse-${backend}-audit-${side.mode}`, side.storage, {
        AUDIT_LOG_ENABLED: side.mode === 'on' ? 'true' : 'false',
      });
      side.server = server;
      const { machine } = await prepareFixture(gh);
      side.spec = {
        url: `${gh.publicUrl}/token`, method: 'POST',
        headers: { 'content-type': FORM, authorization: basicAuth(machine) },
        body: `grant_type=client_credentials&resource=${encodeURIComponent(RESOURCE)}&scope=read`,
        connections: settings.connections, seconds: runSeconds,
      };
    }));
    // Both settled, so `finally` stops whichever server did start.
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    for (const side of sides) {
      if (settings.warmupSeconds > 0) await measure({ ...side.spec!, seconds: FRESH_SERVER_WARMUP_FACTOR * settings.warmupSeconds });
    }
    const rounds = settings.auditRounds;
    const [onSide, offSide] = sides as [Side, Side];
    const runOf = (side: Side, keep = true, what = `audit ${side.mode}`) => async (round: number) => {
      // The other server had the machine to itself a moment ago: new connections, a short warm-up.
      if (runWarmupSeconds > 0) await measure({ ...side.spec!, seconds: runWarmupSeconds });
      const run = await measureOn(ctx, side.server!, `${backend}: client_credentials JWT, ${what} (${round}/${rounds})`, side.spec!);
      if (keep) side.runs.push(run);
      return run.rps;
    };
    const ratios = await pairedRatios(rounds, runOf(onSide), runOf(offSide));
    const [on, off] = sides.map((side) => {
      const mean = meanOf(side.runs);
      ctx.results.rows.push(rowFrom(`client_credentials, JWT — audit log ${side.mode}`, label, 'req/s', mean, [
        `mean of ${side.runs.length} × ${runSeconds} s runs, paired on / off (${side.runs.map((r) => Math.round(r.rps).toLocaleString('en-US')).join(', ')} req/s)`,
      ]));
      return mean;
    }) as [LoadResult, LoadResult];
    ctx.results.auditCost[backend] = { on, off, ratios };
    // The same procedure with nothing to tell apart: the audit-off server against itself. What it
    // reads (ideally 1.00×) is the resolution of the check above on this machine, at this moment.
    ctx.results.auditSelfCheck[backend] = await pairedRatios(rounds, runOf(offSide, false, 'audit off, self-check A'), runOf(offSide, false, 'audit off, self-check B'));
    // A separate process (PGlite is one process's database) writing the same rows into the off
    // server's database: what the database's share of the work costs, paired like the rounds above.
    if (backend === 'postgres') {
      const offRun = (writing: boolean) => async (round: number) => {
        const writer = writing ? await startRowWriter(offSide.storage, on.rps) : undefined;
        try {
          if (runWarmupSeconds > 0) await measure({ ...offSide.spec!, seconds: runWarmupSeconds });
          const run = await measureOn(ctx, offSide.server!, `${backend}: client_credentials JWT, audit off, ${writing ? 'with' : 'without'} ${Math.round(on.rps)} rows/s written by another process (${round}/${rounds})`, offSide.spec!);
          if (writer && writer.exitCode !== null) throw new Error(`audit row writer exited (${writer.exitCode}) during the run`);
          return run.rps;
        } finally {
          await stopRowWriter(writer);
        }
      };
      ctx.results.auditControl = await pairedRatios(rounds, offRun(true), offRun(false));
    }
  } catch (err) {
    for (const side of sides) if (side.server) ctx.progress(`${label}, audit ${side.mode} failed; last lines of the server log:\n${side.server.logTail(15)}`);
    throw new Error(`${label}, audit on / off: ${(err as Error).message}`, { cause: err });
  } finally {
    await Promise.all(sides.map((side) => side.server?.stop()));
    for (const side of sides) {
      await side.storage.drop();
      ctx.storages.delete(side.storage);
    }
  }
}

/**
 * `rounds` rounds of two measurements taken back to back, the order alternating each round
 * (a-b, b-a, …) so neither always follows the other; resolves to each round's a ÷ b.
 */
async function pairedRatios(rounds: number, a: (round: number) => Promise<number>, b: (round: number) => Promise<number>): Promise<number[]> {
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const first = round % 2 === 1;
    const x = first ? await a(round) : await b(round);
    const y = first ? await b(round) : await a(round);
    const [ra, rb] = first ? [x, y] : [y, x];
    ratios.push(rb ? ra / rb : 0);
  }
  return ratios;
}

/** bench/audit-row-writer.ts on `storage`'s database, writing `rowsPerSecond`; resolves once it is connected. */
async function startRowWriter(storage: TestStorage, rowsPerSecond: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/audit-row-writer.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: storage.env.DATABASE_URL, AUDIT_ROWS_PER_SECOND: String(Math.round(rowsPerSecond)) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`audit row writer exited (${code}) before it was ready`)));
  });
  return child;
}

async function stopRowWriter(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Equal-length runs merged: rates, percentiles and CPU averaged, counts summed. */
function meanOf(runs: LoadResult[]): LoadResult {
  const mean = (pick: (r: LoadResult) => number) => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
  const sum = (pick: (r: LoadResult) => number) => runs.reduce((total, r) => total + pick(r), 0);
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  return {
    rps: mean((r) => r.rps),
    p50: mean((r) => r.p50),
    p99: mean((r) => r.p99),
    ok: sum((r) => r.ok),
    failed: sum((r) => r.failed),
    errors: sum((r) => r.errors),
    seconds: sum((r) => r.seconds),
    statuses,
    ...(runs.every((r) => r.serverCores !== undefined) ? { serverCores: mean((r) => r.serverCores!) } : {}),
  };
}
