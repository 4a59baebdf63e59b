import { beforeAll, describe, expect, it } from 'vitest';
import { RECOVERED_SHARE, type RetryStormResult, simulateRetryStorm } from './retry-storm-sim.js';

function availability(r: RetryStormResult, from: number, to = r.seconds.length): number {
  const window = r.seconds.slice(from, to);
  return window.reduce((n, s) => n + s.good, 0) / window.reduce((n, s) => n + s.offered, 0);
}

describe('retry storm simulation (scenario 3)', () => {
  let naive: RetryStormResult;
  let hardened: RetryStormResult;
  beforeAll(async () => {
    naive = await simulateRetryStorm({ policy: 'naive' });
    hardened = await simulateRetryStorm({ policy: 'hardened' });
  });

  it('runs the default scenario: 100 req/s, capacity 120/s, 75 % of it lost from 10 s to 20 s', () => {
    const o = naive.options;
    expect(o.ratePerS).toBe(100);
    expect((o.workers * 1000) / o.serviceMs).toBe(120);
    expect(o.trigger).toEqual({ startS: 10, durationS: 10, capacityShare: 0.25 });
    expect(naive.seconds).toHaveLength(o.durationS);
    expect(naive.seconds[15]?.workers).toBe(3);
    expect(naive.seconds[25]?.workers).toBe(12);
    expect(naive.seconds.every((s) => s.offered === 100)).toBe(true);
  });

  it('both policies serve everything before the trigger', () => {
    expect(naive.summary.availability.before).toBe(1);
    expect(hardened.summary.availability.before).toBe(1);
  });

  it('naive retries stay collapsed after the trigger ends: a metastable failure', () => {
    const s = naive.summary;
    expect(s.recovered).toBe(false);
    expect(s.recoverySeconds).toBeNull();
    expect(s.availability.after).toBeLessThan(0.05);
    // still collapsed at the very end of the run, 60 s after the capacity came back
    expect(availability(naive, naive.seconds.length - 10)).toBeLessThan(0.05);
    expect(s.amplification).toBeGreaterThanOrEqual(3);
    expect(s.peakAmplification).toBe(1 + naive.options.maxRetries);
    // the server is fully busy, with work nobody waits for any more
    const last = naive.seconds.at(-1);
    expect(last?.utilisation).toBe(1);
    expect(s.wastedShare).toBeGreaterThan(0.9);
  });

  it('budgeted, jittered retries recover within a few seconds of the trigger ending', () => {
    const s = hardened.summary;
    expect(s.recovered).toBe(true);
    expect(s.recoverySeconds).not.toBeNull();
    expect(s.recoverySeconds).toBeLessThanOrEqual(5);
    expect(s.availabilityAfterRecovery).toBeGreaterThanOrEqual(RECOVERED_SHARE);
    expect(s.availability.after).toBeGreaterThan(0.9);
    const o = hardened.options;
    // retries ≤ ratio × calls + minRetriesPerSecond, over the window; a little slack for its edges
    expect(s.amplification).toBeLessThanOrEqual(
      1 + o.budgetRatio + o.budgetMinRetriesPerSecond / o.ratePerS + 0.02,
    );
  });

  it('is deterministic: the same seed gives the same run, another seed the same outcome', async () => {
    const again = await simulateRetryStorm({ policy: 'hardened' });
    expect(again).toEqual(hardened);
    const other = await simulateRetryStorm({ policy: 'hardened', seed: 7 });
    expect(other.seconds).not.toEqual(hardened.seconds);
    expect(other.summary.recovered).toBe(true);
  });

  it('the naive run is deterministic too', async () => {
    const again = await simulateRetryStorm({ policy: 'naive' });
    expect(again).toEqual(naive);
  });

  it('without a trigger both policies serve at least 99 %', async () => {
    for (const policy of ['naive', 'hardened'] as const) {
      const r = await simulateRetryStorm({ policy, trigger: null, durationS: 30 });
      expect(r.summary.availability.after).toBeGreaterThanOrEqual(0.99);
      expect(r.summary.recovered).toBe(true);
      expect(r.summary.amplification).toBeLessThan(1.01);
    }
  });
});
