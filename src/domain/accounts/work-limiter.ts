import { GatehouseError } from '../errors.js';

/**
 * Bounds expensive work (password hashing): at most `concurrency` run at once, at most
 * `maxQueued` wait; beyond that callers get an immediate 503 instead of joining a queue that
 * would grow without bound under a login flood and delay everyone.
 */
export class WorkLimiter {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.maxQueued) {
        throw new GatehouseError('service_unavailable', 'too many sign-in attempts in progress; try again shortly');
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
