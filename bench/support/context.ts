import type { BackendName, TestStorage } from '../../test/support/backends.js';
import type { ChildServer } from './child-server.js';
import { measure, type LoadResult, type LoadSpec } from './load.js';
import type { Row } from './report.js';
import type { BenchSettings } from './settings.js';

/** The requests measured on the library floor too, each right before Gatehouse's own run of it. */
export type FloorKind = 'jwt' | 'opaque' | 'introspection';

/** What the scenarios measured, for the report and its verdicts. */
export interface Results {
  rows: Row[];
  /** The floor, measured right before each backend's client_credentials JWT run. */
  floorPeak: Partial<Record<BackendName, LoadResult>>;
  /** Floor and Gatehouse runs of the same request, per backend and kind (JWT peak included). */
  floorPairs: Partial<Record<BackendName, Partial<Record<FloorKind, { floor?: LoadResult; ours?: LoadResult }>>>>;
  peak: Partial<Record<BackendName, LoadResult>>;
  atPartialLoad: Partial<Record<BackendName, LoadResult>>;
  rotations: Partial<Record<BackendName, LoadResult>>;
  /** Code + PKCE flows per second and, right after them, raw Argon2id verifications per second (same concurrency). */
  flowsVsArgon2: Partial<Record<BackendName, { flows: number; argon2: number }>>;
  /** client_credentials JWT with the audit log on and off: each side's mean, and each round's on ÷ off. */
  auditCost: Partial<Record<BackendName, { on: LoadResult; off: LoadResult; ratios: number[] }>>;
  /**
   * An audit-on server whose batches are encoded but never written ÷ the audit-off server, per
   * paired round: the event loop's share of the cost.
   */
  auditDiscard: Partial<Record<BackendName, number[]>>;
  /** The audit-off server's paired rounds against itself (A ÷ B): the audit check's noise floor. */
  auditSelfCheck: Partial<Record<BackendName, number[]>>;
  /**
   * The audit-off server (PostgreSQL + Redis) with ÷ without another process writing the audit-on
   * side's rate of audit rows into its database, per paired round: the database's share.
   */
  auditControl?: number[];
}

/** Shared by the scenario modules: settings, results, progress output, storage to clean up. */
export interface BenchContext {
  settings: BenchSettings;
  results: Results;
  progress(message: string): void;
  /** Storage the runner drops on exit if the scenario could not. */
  storages: Set<TestStorage>;
}

/** Records one side of a floor pair (the floor's run, or ours, of the same request). */
export function recordFloorPair(
  results: Results,
  backend: BackendName,
  kind: FloorKind,
  side: { floor: LoadResult } | { ours: LoadResult },
): void {
  const pairs = results.floorPairs[backend] ?? {};
  pairs[kind] = { ...pairs[kind], ...side };
  results.floorPairs[backend] = pairs;
}

/** How a backend is named in output. */
export const backendLabel = (backend: BackendName) => (backend === 'pglite' ? 'PGlite' : 'PostgreSQL + Redis');

export const fmt = (r: { rps?: number; rate?: number; p50: number; p99: number; serverCores?: number }) =>
  `${Math.round(r.rps ?? r.rate ?? 0)}/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms${r.serverCores !== undefined ? ` cpu ${r.serverCores.toFixed(2)}` : ''}`;

/** One measured run with the server's CPU sampled; fails if the server died meanwhile. */
export async function measureOn(
  ctx: BenchContext,
  server: ChildServer,
  label: string,
  spec: LoadSpec,
): Promise<LoadResult> {
  const result = await measure(spec, server.pid);
  if (!server.alive) throw new Error(`${server.name} exited (${server.exitReason}) during "${label}"`);
  const failed = result.failed + result.errors;
  ctx.progress(`${label}: ${fmt(result)}${failed ? ` (${failed} failed)` : ''}`);
  return result;
}

/** Warm-up (discarded), then the measured run. */
export async function warmAndMeasure(
  ctx: BenchContext,
  label: string,
  spec: LoadSpec,
  server: ChildServer,
  warmupSpec: LoadSpec = spec,
): Promise<LoadResult> {
  if (ctx.settings.warmupSeconds > 0) await measure({ ...warmupSpec, seconds: ctx.settings.warmupSeconds });
  return measureOn(ctx, server, label, spec);
}
