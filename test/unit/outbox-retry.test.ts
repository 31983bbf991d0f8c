import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RETRY_POLICY, isExpired, nextAttemptAt, retryDelayMs } from '../../src/mail/outbox-retry.js';

const low = () => 0;
const high = () => 0.999_999;
const HOUR = 3600_000;

describe('outbox retry schedule', () => {
  it('starts at 5 s, doubles per attempt, and is capped at 10 minutes', () => {
    const upper = Array.from({ length: 12 }, (_, i) => retryDelayMs(i + 1, DEFAULT_RETRY_POLICY, high));
    assert.deepEqual(
      upper.map((ms) => Math.round(ms / 1000)),
      [5, 10, 20, 40, 80, 160, 320, 600, 600, 600, 600, 600],
    );
    // Equal jitter: never below half the step, so the delay still grows under any random draw.
    const lower = Array.from({ length: 12 }, (_, i) => retryDelayMs(i + 1, DEFAULT_RETRY_POLICY, low));
    assert.deepEqual(
      lower.map((ms) => ms / 1000),
      [2.5, 5, 10, 20, 40, 80, 160, 300, 300, 300, 300, 300],
    );
    assert.equal(retryDelayMs(10_000, DEFAULT_RETRY_POLICY, high), 600_000, 'huge attempt counts stay capped');
  });

  it('spreads instances that failed together', () => {
    const draws = [0.1, 0.4, 0.7].map((r) => retryDelayMs(4, DEFAULT_RETRY_POLICY, () => r));
    assert.equal(new Set(draws).size, 3);
    assert.ok(draws.every((d) => d >= 20_000 && d <= 40_000));
  });

  it('schedules from the injected clock and gives up only after 48 h', () => {
    const createdAt = new Date(Date.UTC(2026, 0, 1));
    const now = createdAt.getTime() + 10 * HOUR;
    assert.deepEqual(nextAttemptAt({ attempts: 1, createdAt }, DEFAULT_RETRY_POLICY, now, low), new Date(now + 2_500));
    assert.deepEqual(
      nextAttemptAt({ attempts: 200, createdAt }, DEFAULT_RETRY_POLICY, now, high),
      new Date(now + 600_000),
    );
    // The next try would fall past 48 h: give up now (status failed) rather than later.
    const late = createdAt.getTime() + 48 * HOUR - 60_000;
    assert.equal(nextAttemptAt({ attempts: 290, createdAt }, DEFAULT_RETRY_POLICY, late, low), undefined);
    assert.ok(nextAttemptAt({ attempts: 290, createdAt }, DEFAULT_RETRY_POLICY, late - 10 * 60_000, high));
    assert.equal(isExpired({ createdAt }, DEFAULT_RETRY_POLICY, createdAt.getTime() + 48 * HOUR), true);
    assert.equal(isExpired({ createdAt }, DEFAULT_RETRY_POLICY, createdAt.getTime() + 47 * HOUR), false);
  });

  it('tries some 300–550 times in 48 h with the defaults (documented)', () => {
    let t = 0;
    let attempts = 0;
    while (t < 48 * HOUR) {
      attempts++;
      t += retryDelayMs(attempts, DEFAULT_RETRY_POLICY, () => 0.5);
    }
    assert.ok(attempts > 300 && attempts < 400, String(attempts));
  });
});
