import { createTestStorage, type BackendName, type TestStorage } from '../../test/support/backends.js';
import type { ChildServer } from '../support/child-server.js';
import { backendLabel, measureOn, type BenchContext } from '../support/context.js';
import { FORM, RESOURCE, basicAuth, prepareFixture } from '../support/gatehouse-fixture.js';
import { startGatehouseServer } from '../support/gatehouse-server.js';
import { measure, type LoadResult, type LoadSpec } from '../support/load.js';
import { rowFrom } from '../support/report.js';
import { FRESH_SERVER_WARMUP_FACTOR } from '../support/settings.js';

/** Rounds of (audit on, audit off); alternating spreads the machine's drift over both sides. */
export const AUDIT_COST_ROUNDS = 2;
/** Each run lasts this share of a scenario's seconds, so the pair's four runs cost two scenarios. */
const RUN_SHARE = 0.5;

type Mode = 'on' | 'off';

interface Side { mode: Mode; storage: TestStorage; server?: ChildServer; spec?: LoadSpec; runs: LoadResult[] }

/**
 * What the audit log costs the token endpoint: client_credentials JWT on two servers alike but for
 * AUDIT_LOG_ENABLED, each on fresh storage of `backend`, both up for the whole pair and measured
 * in turn (on, off, on, off), each side reported as the mean of its runs.
 */
export async function benchAuditCost(ctx: BenchContext, backend: BackendName): Promise<void> {
  const { settings } = ctx;
  const label = `Gatehouse, ${backendLabel(backend)}`;
  const runSeconds = Math.max(1, Math.round(settings.seconds * RUN_SHARE));
  const runWarmupSeconds = Math.ceil(settings.warmupSeconds * RUN_SHARE);
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
    for (let round = 1; round <= AUDIT_COST_ROUNDS; round++) {
      for (const side of sides) {
        // The other server had the machine to itself a moment ago: new connections, a short warm-up.
        if (runWarmupSeconds > 0) await measure({ ...side.spec!, seconds: runWarmupSeconds });
        side.runs.push(await measureOn(ctx, side.server!, `${backend}: client_credentials JWT, audit ${side.mode} (${round}/${AUDIT_COST_ROUNDS})`, side.spec!));
      }
    }
    const [on, off] = sides.map((side) => {
      const mean = meanOf(side.runs);
      ctx.results.rows.push(rowFrom(`client_credentials, JWT — audit log ${side.mode}`, label, 'req/s', mean, [
        `mean of ${side.runs.length} × ${runSeconds} s runs alternated on / off (${side.runs.map((r) => Math.round(r.rps).toLocaleString('en-US')).join(', ')} req/s)`,
      ]));
      return mean;
    }) as [LoadResult, LoadResult];
    ctx.results.auditCost[backend] = { on, off };
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
