import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constant, decorrelatedJitter, exponential } from './backoff.js';

const fixed = (v: number) => () => v;

describe('backoff', () => {
  it('constant returns the same delay, jittered within bounds when asked', () => {
    expect(constant(100).next(1, 0, fixed(0.5))).toBe(100);
    expect(constant(100, { jitter: 'full' }).next(3, 0, fixed(0.25))).toBe(25);
    expect(constant(100, { jitter: 'equal' }).next(3, 0, fixed(0))).toBe(50);
  });

  it('exponential grows by the factor and stops at the cap', () => {
    const b = exponential({ initial: 100, max: 1000, factor: 2, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 10].map((a) => b.next(a, 0, Math.random))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('every strategy stays within [0, max] for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (attempt, r, previous) => {
          for (const b of [
            exponential({ initial: 50, max: 5000 }),
            decorrelatedJitter({ initial: 50, max: 5000 }),
          ]) {
            const d = b.next(attempt, previous, () => r);
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(5000);
          }
        },
      ),
    );
  });

  it('decorrelated jitter stays in [initial, 3 × previous] and never below initial', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        fc.double({ min: 10, max: 1000, noNaN: true }),
        (r, prev) => {
          const d = decorrelatedJitter({ initial: 10, max: 1e9 }).next(2, prev, () => r);
          expect(d).toBeGreaterThanOrEqual(10);
          expect(d).toBeLessThanOrEqual(prev * 3);
        },
      ),
    );
  });

  it('rejects nonsense options', () => {
    expect(() => exponential({ initial: 100, max: 10 })).toThrow(/option "max"/);
    expect(() => exponential({ factor: 0.5 })).toThrow(/option "factor"/);
    expect(() => constant(-1)).toThrow(/option "ms"/);
  });
});
