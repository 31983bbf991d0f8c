import type { BackendName } from '../../test/support/backends.js';
import { type FloorKind, backendLabel as label, type Results } from './context.js';
import type { Verdict } from './report.js';

/** Floor ratio the PostgreSQL + Redis deployment must reach: client_credentials (JWT, opaque) and introspection. */
const FLOOR_RATIO_TARGET = 0.85;
/** Embedded (PGlite) client_credentials ÷ the floor (issue 16). */
const EMBEDDED_FLOOR_RATIO_TARGET = 0.5;
/** Refresh-token rotations per second per app core. */
const ROTATIONS_PER_CORE_TARGET = 1200;
/** Issue 16: the code flow at ≥ 0.9× the raw Argon2id rate (one verification per sign-in). */
const FLOW_ARGON2_RATIO_TARGET = 0.9;
/** p99 at 70 % of peak, milliseconds. */
const P99_AT_PARTIAL_LOAD_TARGET_MS = 25;
/** Throughput with the audit log on, as a share of the same run with it off (the admin-plane issue). */
const AUDIT_ON_OFF_RATIO_TARGET = 0.95;

/**
 * Paired rounds' ratios summed up: the median (the mean of the middle two for an even count), to
 * three places so a verdict never reads "0.95× miss", with its distribution-free 95 % interval
 * (the order statistics n/2 ± 0.98·√n: the median's resolution in this run) and the range:
 * "0.962× (48 pairs, 95 % interval 0.931–0.987, range 0.70–1.04" for the report; undefined for no rounds.
 */
function pairedRounds(ratios: readonly number[]): { median: number; text: string } | undefined {
  if (!ratios.length) return undefined;
  const sorted = [...ratios].sort((a, b) => a - b);
  const n = sorted.length;
  const median = (sorted[(n - 1) >> 1]! + sorted[n >> 1]!) / 2;
  const spread = 0.98 * Math.sqrt(n);
  const low = sorted[Math.max(0, Math.floor(n / 2 - spread) - 1)]!;
  const high = sorted[Math.min(n - 1, Math.ceil(n / 2 + spread))]!;
  return {
    median,
    text: `${median.toFixed(3)}× (${n} pairs, 95 % interval ${low.toFixed(3)}–${high.toFixed(3)}, range ${sorted[0]!.toFixed(2)}–${sorted[n - 1]!.toFixed(2)}`,
  };
}

/** The run's results held against the targets in the report header. */
export function verdicts(results: Results, backends: BackendName[], scenarios: 'all' | 'audit' = 'all'): Verdict[] {
  const out: Verdict[] = [];
  const kinds: Array<[FloorKind, string]> = [
    ['jwt', 'client_credentials JWT'],
    ['opaque', 'client_credentials opaque'],
    ['introspection', 'introspection (opaque)'],
  ];
  for (const backend of scenarios === 'all' ? backends : []) {
    for (const [kind, name] of kinds) {
      const pair = results.floorPairs[backend]?.[kind];
      const floor = pair?.floor?.rps;
      const ours = pair?.ours?.rps;
      const ratio = floor && ours ? ours / floor : undefined;
      // PostgreSQL + Redis (production) ≥ 0.85× on all three; embedded ≥ 0.5× on client_credentials.
      const target =
        backend === 'postgres'
          ? FLOOR_RATIO_TARGET
          : kind === 'introspection'
            ? undefined
            : EMBEDDED_FLOOR_RATIO_TARGET;
      out.push({
        label: `${name}, ${label(backend)} ÷ library floor`,
        value: ratio !== undefined ? `${ratio.toFixed(2)}× (${Math.round(ours!)} / ${Math.round(floor!)})` : '–',
        target: target !== undefined ? `≥ ${target}×` : '—',
        pass: ratio !== undefined && target !== undefined ? ratio >= target : undefined,
      });
    }
  }
  for (const backend of scenarios === 'all' ? backends : []) {
    const r = results.rotations[backend];
    // Rotations per second of server-process CPU: on a small machine the server shares its cores
    // with the database, Redis and the load generator, so its wall-clock rate understates a core's.
    const perCore = r?.serverCores ? r.rps / r.serverCores : undefined;
    out.push({
      label: `refresh rotation, ${label(backend)}, per app core`,
      value: r
        ? `${perCore !== undefined ? `${Math.round(perCore).toLocaleString('en-US')}/s` : '–'} (${Math.round(r.rps)}/s wall clock at ${r.serverCores?.toFixed(2) ?? '?'} cores)`
        : '–',
      target: `≥ ${ROTATIONS_PER_CORE_TARGET.toLocaleString('en-US')}/s`,
      pass: perCore !== undefined ? perCore >= ROTATIONS_PER_CORE_TARGET : undefined,
    });
  }
  for (const backend of scenarios === 'all' ? backends : []) {
    const f = results.flowsVsArgon2[backend];
    const ratio = f ? f.flows / f.argon2 : undefined;
    out.push({
      label: `code + PKCE flow, ${label(backend)} ÷ raw Argon2id verifications (same parameters and concurrency, same run)`,
      value:
        ratio !== undefined ? `${ratio.toFixed(2)}× (${f!.flows.toFixed(1)} / ${f!.argon2.toFixed(1)} per s)` : '–',
      target: `≥ ${FLOW_ARGON2_RATIO_TARGET}×`,
      pass: ratio !== undefined ? ratio >= FLOW_ARGON2_RATIO_TARGET : undefined,
    });
  }
  for (const backend of scenarios === 'all' ? backends : []) {
    const r = results.atPartialLoad[backend];
    out.push({
      label: `p99 at 70 % of peak (paced), client_credentials JWT, ${label(backend)}`,
      value: r ? `${r.p99.toFixed(2)} ms` : '–',
      target: `< ${P99_AT_PARTIAL_LOAD_TARGET_MS} ms`,
      pass: r ? r.p99 < P99_AT_PARTIAL_LOAD_TARGET_MS : undefined,
    });
  }
  for (const backend of backends) {
    const pair = results.auditCost[backend];
    const rounds = pairedRounds(pair?.ratios ?? []);
    out.push({
      label: `client_credentials JWT, ${label(backend)}: audit log on ÷ off (median of paired turns)`,
      value: rounds
        ? `${rounds.text}; means ${Math.round(pair!.on.rps)} / ${Math.round(pair!.off.rps)} = ${(pair!.on.rps / pair!.off.rps).toFixed(2)}×)`
        : '–',
      target: `≥ ${AUDIT_ON_OFF_RATIO_TARGET}×`,
      pass: rounds ? rounds.median >= AUDIT_ON_OFF_RATIO_TARGET : undefined,
    });
  }
  for (const backend of backends) {
    const discard = pairedRounds(results.auditDiscard[backend] ?? []);
    if (!discard) continue;
    out.push({
      label: `client_credentials JWT, ${label(backend)}: audit log on with its batches encoded but never written ÷ off (median of paired turns): the event loop's share`,
      value: `${discard.text})`,
      target: '—',
      pass: undefined,
    });
  }
  for (const backend of backends) {
    const self = pairedRounds(results.auditSelfCheck[backend] ?? []);
    if (!self) continue;
    out.push({
      label: `client_credentials JWT, ${label(backend)}: audit log off ÷ a second audit-off instance, same procedure (median of paired turns): the check's noise`,
      value: `${self.text})`,
      target: '—',
      pass: undefined,
    });
  }
  const control = pairedRounds(results.auditControl ?? []);
  if (control) {
    out.push({
      label:
        'client_credentials JWT, PostgreSQL + Redis, audit log off: with ÷ without the audit-on rate of rows written to its database by another process (median of paired turns)',
      value: `${control.text})`,
      target: '—',
      pass: undefined,
    });
  }
  return out;
}
