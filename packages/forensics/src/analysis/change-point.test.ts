import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectChangePoint } from './change-point.js';

const noisy = (n: number, level: number, seed: number) => {
  let a = seed;
  return Array.from({ length: n }, () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return level + (a / 2147483648 - 0.5);
  });
};

describe('detectChangePoint', () => {
  it('finds a noise-free step at its exact index, with its direction', () => {
    const up = [...Array(20).fill(1), ...Array(20).fill(5)];
    expect(detectChangePoint(up)).toMatchObject({ index: 20, direction: 'up' });
    const down = [...Array(20).fill(5), ...Array(20).fill(1)];
    expect(detectChangePoint(down)).toMatchObject({ index: 20, direction: 'down' });
  });

  it('respects the bad direction: a drop is no onset when only up is bad', () => {
    const down = [...Array(20).fill(5), ...Array(20).fill(1)];
    expect(detectChangePoint(down, { direction: 'up' })).toBeUndefined();
  });

  it('starts the change at the first point that is out, even when the step before it widened the baseline', () => {
    // a flat baseline of 29/31; the last normal point (27) makes a split before it score best
    const xs = [
      ...Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 29 : 31)),
      27,
      453,
      245,
      258,
      463,
      262,
      219,
    ];
    expect(detectChangePoint(xs, { direction: 'up', minScale: 1, threshold: 3 })?.index).toBe(31);
  });

  it('ignores a lone spike', () => {
    const xs = noisy(60, 10, 7);
    xs[30] = 1000;
    expect(detectChangePoint(xs, { direction: 'up' })).toBeUndefined();
  });

  it('a sparse series (observations every few points, gaps between) reads a lone spike as one', () => {
    // a mean GC pause: defined only where a collection ran, every fifth second
    const sparse = (n: number, at: (i: number) => number) =>
      Array.from({ length: n }, (_, i) => (i % 5 === 0 ? at(i) : Number.NaN));
    const noise = (i: number) => 5 + ((i * 7) % 3);
    const spike = sparse(80, (i) => (i === 50 ? 25 : noise(i)));
    const options = { direction: 'up', threshold: 5, observations: true } as const;
    expect(detectChangePoint(spike, options)).toBeUndefined();
    // counting points instead, the spike is the only observation of its horizon
    expect(detectChangePoint(spike, { ...options, observations: false })).toMatchObject({ index: 50 });
    // the same series whose pauses all lengthen from point 50 on: the change, at its first one
    const shift = sparse(80, (i) => (i >= 50 ? 25 + noise(i) : noise(i)));
    expect(detectChangePoint(shift, options)).toMatchObject({ index: 50 });
  });

  it('finds a step in noise within a point or two', () => {
    const xs = [...noisy(100, 10, 3), ...noisy(50, 20, 4)];
    const cp = detectChangePoint(xs, { direction: 'up' });
    expect(cp?.direction).toBe('up');
    expect(Math.abs((cp?.index ?? 0) - 100)).toBeLessThanOrEqual(2);
  });

  it('property: no onset on a constant series', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 200 }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        (n, c) => {
          expect(detectChangePoint(Array(n).fill(c))).toBeUndefined();
        },
      ),
    );
  });

  it('property: a noise-free step is found at its index, in its direction', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 80 }),
        fc.integer({ min: 5, max: 80 }),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        fc.double({ min: 0.5, max: 1000, noNaN: true }),
        fc.boolean(),
        (before, after, level, jump, up) => {
          // Changes under 2 % of the level are below the detector's noise floor by design.
          const step = jump + 0.1 * Math.abs(level);
          const to = up ? level + step : level - step;
          const xs = [...Array(before).fill(level), ...Array(after).fill(to)];
          const cp = detectChangePoint(xs);
          expect(cp?.index).toBe(before);
          expect(cp?.direction).toBe(up ? 'up' : 'down');
        },
      ),
    );
  });

  it('property: NaN gaps do not create onsets in a constant series', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 6, maxLength: 100 }), (gaps) => {
        const xs = gaps.map((g) => (g ? Number.NaN : 3));
        expect(detectChangePoint(xs)).toBeUndefined();
      }),
    );
  });

  it('event counts: finds a burst in sparse counts (most buckets empty) at its first bucket', () => {
    // One error every 20 buckets, then a burst: 2–3 a bucket, with empty buckets between.
    const xs = Array.from({ length: 120 }, (_, i) =>
      i < 80 ? (i % 20 === 0 ? 1 : 0) : ([3, 0, 2, 0, 3][i % 5] ?? 0),
    );
    const cp = detectChangePoint(xs, {
      direction: 'up',
      countData: true,
      minSegment: 5,
      horizon: 5,
      threshold: 5,
    });
    expect(cp?.index).toBe(80);
    expect(cp?.direction).toBe('up');
  });

  it('event counts: ordinary Poisson noise is no onset', () => {
    let a = 11;
    const xs = Array.from({ length: 200 }, () => {
      a = (a * 1103515245 + 12345) % 2147483648;
      return a / 2147483648 < 0.3 ? 1 : 0;
    });
    expect(
      detectChangePoint(xs, { direction: 'up', countData: true, minSegment: 5, threshold: 5 }),
    ).toBeUndefined();
  });

  it('a resolution floor (minScale) keeps a tiny shift on a flat baseline from reading as huge', () => {
    const xs = [...Array(30).fill(4), ...Array(30).fill(9)];
    expect(detectChangePoint(xs, { direction: 'up' })?.score).toBeGreaterThan(50);
    expect(detectChangePoint(xs, { direction: 'up', minScale: 1 })?.score).toBeCloseTo(5, 5);
  });
});
