import { createHmac } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { WorkLimiter } from './work-limiter.js';

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/**
 * Argon2id password hashes as PHC strings, computed on libuv's thread pool (never on the event
 * loop). An optional pepper is mixed in with HMAC-SHA-256 before hashing, so a stolen database
 * alone is not enough to test guesses.
 */
export class PasswordHasher {
  #dummy: Promise<string> | undefined;
  /**
   * libuv runs 4 hashes at once by default; more in flight only queue. 64 waiting is ~2 s of
   * work at ~30 ms a hash on 4 threads — past that, shed load rather than queue.
   */
  readonly #limiter = new WorkLimiter(4, 64);
  constructor(
    private readonly params: Argon2Params,
    private readonly pepper?: string,
  ) {}

  private prepare(password: string): string | Buffer {
    return this.pepper ? createHmac('sha256', this.pepper).update(password, 'utf8').digest() : password;
  }

  hash(password: string): Promise<string> {
    return this.#limiter.run(() => hash(this.prepare(password), { ...this.params, outputLen: 32 }));
  }

  async verify(phc: string, password: string): Promise<boolean> {
    return this.#limiter.run(async () => {
      try {
        return await verify(phc, this.prepare(password));
      } catch {
        return false;
      }
    });
  }

  /** Spends the same work as a real check, for unknown accounts (no timing oracle for enumeration). */
  async verifyDummy(password: string): Promise<false> {
    this.#dummy ??= this.hash('gatehouse-dummy-password-for-timing-equalisation');
    await this.verify(await this.#dummy, password);
    return false;
  }
}
