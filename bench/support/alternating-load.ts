import { Pool } from 'undici';
import { cpuSeconds } from './child-server.js';
import type { LoadResult } from './load.js';

/** One side of an alternating comparison: where its requests go, and what to do as its turn begins. */
export interface AlternatingSide {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** The server process, for its CPU time over the measured windows. */
  pid?: number;
  /** Called as this side's slice begins (e.g. start a background writer). */
  onTurn?: () => void;
}

export interface AlternatingOptions {
  /** Keep-alive connections to each side; only the side whose slice it is gets requests. */
  connections: number;
  /** Length of one slice, milliseconds. */
  sliceMs: number;
  /**
   * The start of each slice that is not counted: requests still in flight to the other side, and
   * work the other side deferred (an audit batch written up to a flush interval later), end here.
   */
  settleMs: number;
  /** Counted pairs of slices (a, b), the order alternating: a-b, b-a, … */
  pairs: number;
  /** Pairs run first and not counted (connections opened, both sides warm). */
  warmupPairs: number;
  /** Called after each counted pair with its two rates (requests per second). */
  onPair?: (pair: number, aRps: number, bRps: number) => void;
}

export interface AlternatingResult {
  /** Each counted pair's a ÷ b. */
  ratios: number[];
  /** Each side over its counted windows (rates, percentiles, CPU). */
  a: LoadResult;
  b: LoadResult;
}

interface Slice {
  side: 0 | 1;
  countFrom: number;
  end: number;
  ok: number;
  failed: number;
  errors: number;
  counted: boolean;
  seconds: number;
}

interface SideTally {
  latencies: number[];
  ok: number;
  failed: number;
  errors: number;
  seconds: number;
  cpu: number;
  statuses: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exact percentile (nearest rank) of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Two servers measured in turns of `sliceMs`, over connections kept open to both: closed-loop load
 * goes to one side at a time, and a request counts for its slice if it was sent after the slice
 * settled. On a shared machine whose speed drifts by tens of percent over seconds, two slices a
 * second apart see nearly the same machine, so each pair's ratio is far steadier than that of two
 * runs several seconds apart; the pairs' median is the comparison.
 */
export async function alternatingLoad(
  a: AlternatingSide,
  b: AlternatingSide,
  options: AlternatingOptions,
): Promise<AlternatingResult> {
  const sides = [a, b] as const;
  const pools = sides.map((s) => new Pool(new URL(s.url).origin, { connections: options.connections, pipelining: 1 }));
  const newTally = (): SideTally => ({ latencies: [], ok: 0, failed: 0, errors: 0, seconds: 0, cpu: 0, statuses: {} });
  const tallies: [SideTally, SideTally] = [newTally(), newTally()];
  let current: Slice | undefined;
  let stopped = false;

  const worker = async () => {
    while (!stopped) {
      const slice = current!;
      const side = sides[slice.side];
      const sent = performance.now();
      let status = 0;
      try {
        const res = await pools[slice.side]!.request({
          path: new URL(side.url).pathname,
          method: side.method,
          headers: side.headers,
          body: side.body,
        });
        status = res.statusCode;
        await res.body.dump();
      } catch {
        status = -1;
      }
      if (!slice.counted || sent < slice.countFrom || sent >= slice.end) continue;
      const tally = tallies[slice.side];
      if (status >= 200 && status < 300) {
        slice.ok++;
        tally.latencies.push(performance.now() - sent);
      } else if (status === -1) {
        slice.errors++;
      } else {
        slice.failed++;
        tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
      }
    }
  };

  /** Counted pairs, as [a's slice, b's slice]. */
  const pairs: [Slice, Slice][] = [];
  const runSlice = async (side: 0 | 1, counted: boolean): Promise<Slice> => {
    sides[side].onTurn?.();
    const start = performance.now();
    const slice: Slice = {
      side,
      countFrom: start + options.settleMs,
      end: start + options.sliceMs,
      ok: 0,
      failed: 0,
      errors: 0,
      counted,
      seconds: 0,
    };
    current = slice;
    await sleep(options.settleMs);
    const pid = sides[side].pid;
    const cpuBefore = pid ? cpuSeconds(pid) : undefined;
    const windowStart = performance.now();
    await sleep(options.sliceMs - options.settleMs);
    const cpuAfter = pid ? cpuSeconds(pid) : undefined;
    slice.seconds = (performance.now() - windowStart) / 1000;
    if (counted && cpuBefore !== undefined && cpuAfter !== undefined) tallies[side].cpu += cpuAfter - cpuBefore;
    return slice;
  };

  // The first slice must exist before the workers start.
  current = { side: 0, countFrom: Infinity, end: 0, ok: 0, failed: 0, errors: 0, counted: false, seconds: 0 };
  const workers = Array.from({ length: options.connections }, worker);
  const rpsOf = (slice: Slice) => (slice.seconds ? slice.ok / slice.seconds : 0);
  try {
    const total = options.warmupPairs + options.pairs;
    for (let pair = 0; pair < total; pair++) {
      const counted = pair >= options.warmupPairs;
      const order: [0 | 1, 0 | 1] = pair % 2 === 0 ? [0, 1] : [1, 0];
      const first = await runSlice(order[0], counted);
      const second = await runSlice(order[1], counted);
      // The previous pair's last answers have arrived by now (a slice's settle is far longer than a request).
      const previous = pairs.at(-1);
      if (previous) options.onPair?.(pairs.length, rpsOf(previous[0]), rpsOf(previous[1]));
      if (counted) pairs.push(first.side === 0 ? [first, second] : [second, first]);
    }
    // The last slice's answers: requests sent before its end.
    await sleep(options.settleMs);
    const last = pairs.at(-1);
    if (last) options.onPair?.(pairs.length, rpsOf(last[0]), rpsOf(last[1]));
  } finally {
    stopped = true;
    await Promise.all(workers);
    await Promise.all(pools.map((p) => p.close()));
  }
  const ratios = pairs.map(([sa, sb]) => (rpsOf(sb) ? rpsOf(sa) / rpsOf(sb) : 0));
  for (const pair of pairs) {
    for (const slice of pair) {
      const tally = tallies[slice.side];
      tally.ok += slice.ok;
      tally.failed += slice.failed;
      tally.errors += slice.errors;
      tally.seconds += slice.seconds;
    }
  }
  const [ra, rb] = tallies.map((t): LoadResult => {
    const sorted = Float64Array.from(t.latencies).sort();
    return {
      rps: t.seconds ? t.ok / t.seconds : 0,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      ok: t.ok,
      failed: t.failed,
      errors: t.errors,
      seconds: t.seconds,
      statuses: t.statuses,
      ...(t.cpu && t.seconds ? { serverCores: t.cpu / t.seconds } : {}),
    };
  }) as [LoadResult, LoadResult];
  return { ratios, a: ra, b: rb };
}
