import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { RetryBudget } from './retry-budget.js';

describe('RetryBudget', () => {
  it('allows the minimum when idle and a share of calls when busy', () => {
    const clock = new ManualClock();
    const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000, clock });
    expect(b.allowed).toBe(10);
    for (let i = 0; i < 100; i++) b.recordCall();
    expect(b.allowed).toBe(30);
    let granted = 0;
    while (b.tryRetry()) granted++;
    expect(granted).toBe(30);
  });

  it('forgets calls and retries that left the window', async () => {
    const clock = new ManualClock();
    const b = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1000, buckets: 10, clock });
    for (let i = 0; i < 10; i++) b.recordCall();
    for (let i = 0; i < 10; i++) expect(b.tryRetry()).toBe(true);
    expect(b.tryRetry()).toBe(false);
    await clock.advance(1000);
    expect(b.stats()).toEqual({ calls: 0, retries: 0, allowed: 0 });
    b.recordCall();
    expect(b.tryRetry()).toBe(true);
  });

  it('property: retries in any window never exceed ratio × calls + minimum', () => {
    type Op = { kind: 'call' } | { kind: 'retry' } | { kind: 'wait'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant<Op>({ kind: 'call' }),
      fc.constant<Op>({ kind: 'retry' }),
      fc.integer({ min: 1, max: 700 }).map<Op>((ms) => ({ kind: 'wait', ms })),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        (ops, ratio, minPerSecond) => {
          let now = 0;
          const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
          const windowMs = 1000;
          const b = new RetryBudget({
            ratio,
            minRetriesPerSecond: minPerSecond,
            windowMs,
            buckets: 10,
            clock,
          });
          const log: { t: number; kind: 'call' | 'retry' }[] = [];
          for (const o of ops) {
            if (o.kind === 'wait') now += o.ms;
            else if (o.kind === 'call') {
              b.recordCall();
              log.push({ t: now, kind: 'call' });
            } else if (b.tryRetry()) {
              log.push({ t: now, kind: 'retry' });
              // The budget counts whole buckets: its window covers at least the last
              // (window − bucket) and at most the last window. At each grant, retries in the
              // narrowest window can never exceed what the widest window's calls allow.
              const calls = log.filter((e) => e.kind === 'call' && e.t > now - windowMs).length;
              const retries = log.filter(
                (e) => e.kind === 'retry' && e.t > now - windowMs + windowMs / 10,
              ).length;
              expect(retries).toBeLessThanOrEqual(Math.floor(ratio * calls + minPerSecond));
            }
          }
        },
      ),
    );
  });
});
