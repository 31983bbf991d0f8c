import { hash, verify } from '@node-rs/argon2';
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
  const durations: number[] = [];
  let started = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (started < count) {
      started++;
      const t = process.hrtime.bigint();
      if (!(await verify(stored, password))) throw new Error('argon2 verify failed');
      durations.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  durations.sort((a, b) => a - b);
  const pct = (p: number) => durations[Math.min(durations.length - 1, Math.ceil((p / 100) * durations.length) - 1)]!;
  return { verifies: durations.length, seconds, perSecond: durations.length / seconds, p50: pct(50), p99: pct(99) };
}
