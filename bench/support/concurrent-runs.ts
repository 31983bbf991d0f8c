export interface ConcurrentRuns {
  /** Each successful run's duration in ms, ascending. */
  durations: number[];
  seconds: number;
  failed: number;
  firstError?: string;
}

/**
 * `count` runs of `once`, `concurrency` at a time, each timed; a run that throws counts as failed
 * (the first error is kept) and the others go on.
 */
export async function runConcurrently(
  count: number,
  concurrency: number,
  once: () => Promise<void>,
): Promise<ConcurrentRuns> {
  const durations: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let started = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (started < count) {
      started++;
      const t = process.hrtime.bigint();
      try {
        await once();
        durations.push(Number(process.hrtime.bigint() - t) / 1e6);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message.slice(0, 300);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  durations.sort((a, b) => a - b);
  return { durations, seconds: Number(process.hrtime.bigint() - t0) / 1e9, failed, firstError };
}

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
}
