import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AttemptCounter, SignInThrottle } from '../../src/domain/authn/sign-in-throttle.js';

/** The storage port as a map: what Redis INCR per window (or the SQL upsert) would count. */
class FakeCounter implements AttemptCounter {
  readonly hits: { key: string; windowStart: number; windowSeconds: number }[] = [];
  readonly #counts = new Map<string, number>();
  async hit(key: string, windowStart: number, windowSeconds: number): Promise<number> {
    this.hits.push({ key, windowStart, windowSeconds });
    const k = `${key}@${windowStart}`;
    const count = (this.#counts.get(k) ?? 0) + 1;
    this.#counts.set(k, count);
    return count;
  }
  async count(key: string, windowStart: number): Promise<number> {
    return this.#counts.get(`${key}@${windowStart}`) ?? 0;
  }
}

/** A clock the test moves by hand (epoch ms). */
function fakeClock(startMs: number) {
  let now = startMs;
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
  };
}

/** 2026-12-05T12:00:00Z: a multiple of 60 s, so windows start on it. */
const WINDOW_START_MS = Date.UTC(2026, 11, 5, 12, 0, 0);

describe('sign-in throttle (fixed one-minute windows per client address)', () => {
  it('allows the limit within a window and refuses the next attempt until the window ends', async () => {
    const clock = fakeClock(WINDOW_START_MS + 10_000);
    const throttle = new SignInThrottle(new FakeCounter(), 3, clock.now);
    for (let i = 0; i < 3; i++) assert.deepEqual(await throttle.check('203.0.113.7'), { allowed: true });
    assert.deepEqual(await throttle.check('203.0.113.7'), { allowed: false, retryAfterSeconds: 50 });
    clock.set(WINDOW_START_MS + 59_999);
    assert.deepEqual(
      await throttle.check('203.0.113.7'),
      { allowed: false, retryAfterSeconds: 1 },
      'never 0: at least one second',
    );
  });

  it('starts counting again exactly at the next window', async () => {
    const clock = fakeClock(WINDOW_START_MS + 59_000);
    const counter = new FakeCounter();
    const throttle = new SignInThrottle(counter, 1, clock.now);
    assert.equal((await throttle.check('198.51.100.1')).allowed, true);
    assert.equal((await throttle.check('198.51.100.1')).allowed, false);
    clock.set(WINDOW_START_MS + 60_000);
    assert.equal((await throttle.check('198.51.100.1')).allowed, true, 'a new window at the boundary');
    assert.deepEqual(
      counter.hits.map((h) => h.windowStart),
      [WINDOW_START_MS / 1000, WINDOW_START_MS / 1000, WINDOW_START_MS / 1000 + 60],
    );
    assert.ok(counter.hits.every((h) => h.windowSeconds === 60));
  });

  it('counts each address on its own; an unknown address shares one bucket', async () => {
    const counter = new FakeCounter();
    const throttle = new SignInThrottle(counter, 1, () => WINDOW_START_MS);
    assert.equal((await throttle.check('192.0.2.1')).allowed, true);
    assert.equal((await throttle.check('192.0.2.2')).allowed, true, 'another address is not affected');
    assert.equal((await throttle.check('')).allowed, true);
    assert.equal((await throttle.check('')).allowed, false);
    assert.deepEqual(
      [...new Set(counter.hits.map((h) => h.key))],
      ['signin:192.0.2.1', 'signin:192.0.2.2', 'signin:unknown'],
    );
  });

  it('a limit of 0 turns it off without touching storage', async () => {
    const counter = new FakeCounter();
    const throttle = new SignInThrottle(counter, 0, () => WINDOW_START_MS);
    for (let i = 0; i < 5; i++) assert.equal((await throttle.check('192.0.2.9')).allowed, true);
    assert.equal(counter.hits.length, 0);
  });

  it('an explicit time wins over the clock', async () => {
    const counter = new FakeCounter();
    const throttle = new SignInThrottle(counter, 5, () => {
      throw new Error('clock must not be read');
    });
    await throttle.check('192.0.2.3', WINDOW_START_MS + 125_000);
    assert.equal(counter.hits[0]!.windowStart, WINDOW_START_MS / 1000 + 120);
  });
});
