import { hash, verify } from '@node-rs/argon2';
import { percentile, runConcurrently } from './concurrent-runs.js';
import { ARGON2_ENV } from './settings.js';

export interface Argon2Rate {
  verifies: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * The raw Argon2id rate the code flow is held against: `count` verifications of one password at
 * the server's parameters (ARGON2_ENV, the product defaults), `concurrency` at a time, in this
 * process with the same library (@node-rs/argon2, on its own threads). A sign-in costs one
 * verification, so a flow rate near this rate means the flow adds little to the hash.
 */
export async function measureArgon2(count: number, concurrency: number): Promise<Argon2Rate> {
  const options = {
    memoryCost: Number(ARGON2_ENV.ARGON2_MEMORY_KIB),
    timeCost: Number(ARGON2_ENV.ARGON2_ITERATIONS),
    parallelism: Number(ARGON2_ENV.ARGON2_PARALLELISM),
  };
  const password = 'correct horse battery staple';
  const stored = await hash(password, options);
  for (let i = 0; i < concurrency; i++) await verify(stored, password);
  const runs = await runConcurrently(count, concurrency, async () => {
    if (!(await verify(stored, password))) throw new Error('argon2 verify failed');
  });
  if (runs.failed) throw new Error(`argon2: ${runs.firstError}`);
  const { durations, seconds } = runs;
  const pct = (p: number) => percentile(durations, p);
  return { verifies: durations.length, seconds, perSecond: durations.length / seconds, p50: pct(50), p99: pct(99) };
}
