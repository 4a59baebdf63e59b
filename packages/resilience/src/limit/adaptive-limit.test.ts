import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { FaultlineError, isFaultlineError } from '../core/errors.js';
import { wrap } from '../core/pipeline.js';
import { timeout } from '../timeout/timeout.js';
import { type AdaptiveLimitPolicy, adaptiveLimit } from './adaptive-limit.js';

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

function outcome<T>(p: Promise<T>): Promise<T | unknown> {
  return p.then(
    (v) => v,
    (e: unknown) => e,
  );
}

const timeoutError = () => new FaultlineError('FL_TIMEOUT', 'timed out', { retryable: true });

/** Runs `n` calls at once, each taking `latencyMs` on the manual clock; returns how many were admitted. */
async function round(
  lim: AdaptiveLimitPolicy,
  clock: ManualClock,
  n: number,
  latencyMs: number,
): Promise<number> {
  const ps: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    ps.push(outcome(lim.execute(() => new Promise<void>((r) => clock.setTimeout(r, latencyMs)))));
  }
  await clock.advance(latencyMs);
  const results = await Promise.all(ps);
  return results.filter((r) => !isFaultlineError(r)).length;
}

describe('adaptiveLimit', () => {
  it('rejects calls over the limit with FL_CONCURRENCY_LIMITED', async () => {
    const clock = new ManualClock();
    const lim = adaptiveLimit({ initialLimit: 2, name: 'svc', clock });
    const hold: (() => void)[] = [];
    const running = [0, 1].map(() => lim.execute(() => new Promise<void>((r) => hold.push(r))));
    expect(lim.inflight).toBe(2);
    const { events, stop } = collect('faultline:resilience:reject');
    let err: unknown;
    try {
      err = await outcome(lim.execute(() => 'no'));
    } finally {
      stop();
    }
    expect(err).toMatchObject({
      code: 'FL_CONCURRENCY_LIMITED',
      policy: 'adaptive-limit:svc',
      retryable: false,
      details: { limit: 2, inflight: 2, algorithm: 'aimd' },
    });
    expect(events).toEqual([
      {
        policy: 'adaptive-limit',
        name: 'svc',
        code: 'FL_CONCURRENCY_LIMITED',
        reason: 'limit',
        details: { limit: 2, inflight: 2, algorithm: 'aimd' },
      },
    ]);
    for (const r of hold) r();
    await Promise.all(running);
    expect(lim.inflight).toBe(0);
  });

  describe('aimd', () => {
    it('adds one per success while busy, up to maxLimit; not on light traffic', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({ algorithm: 'aimd', initialLimit: 4, maxLimit: 6, clock });
      // one call at a time never makes the limit the bottleneck
      for (let i = 0; i < 5; i++) await round(lim, clock, 1, 10);
      expect(lim.limit).toBe(4);
      expect(await round(lim, clock, 4, 10)).toBe(4);
      expect(lim.limit).toBe(6); // exits saw 4 and 3 in flight (busy), then 2 and 1
      expect(await round(lim, clock, 8, 10)).toBe(6);
      expect(lim.limit).toBe(6);
    });

    it('backs off multiplicatively on a timeout and on a call slower than the threshold', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({ algorithm: 'aimd', initialLimit: 10, latencyThresholdMs: 100, clock });
      await lim.execute(() => Promise.reject(timeoutError())).catch(() => {});
      expect(lim.limit).toBe(9);
      await round(lim, clock, 1, 150);
      expect(lim.limit).toBe(8);
      // a timeout policy inside counts the same
      const guarded = wrap(lim, timeout(20, { clock, resolution: 1 }));
      const p = outcome(
        guarded.execute(
          ({ signal }) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(signal.reason))),
        ),
      );
      await clock.advance(25);
      expect(await p).toMatchObject({ code: 'FL_TIMEOUT' });
      expect(lim.limit).toBe(7);
    });

    it('never goes below minLimit', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({ algorithm: 'aimd', initialLimit: 3, minLimit: 2, clock });
      for (let i = 0; i < 10; i++) await lim.execute(() => Promise.reject(timeoutError())).catch(() => {});
      expect(lim.limit).toBe(2);
    });

    it('ignores the caller aborting and other policies refusing; counts other errors as latency', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({ algorithm: 'aimd', initialLimit: 1, clock });
      const ac = new AbortController();
      const p = outcome(
        lim.execute(
          ({ signal }) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(signal.reason))),
          {
            signal: ac.signal,
          },
        ),
      );
      ac.abort(new Error('gone'));
      await p;
      expect(lim.limit).toBe(1);
      await lim.execute(() => Promise.reject(new FaultlineError('FL_CIRCUIT_OPEN', 'open'))).catch(() => {});
      expect(lim.limit).toBe(1);
      // a business error is still a measured call: with 1 in flight at a limit of 1, the limit grows
      await lim.execute(() => Promise.reject(new Error('404'))).catch(() => {});
      expect(lim.limit).toBe(2);
    });

    it('takes a custom notion of drop', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({
        algorithm: 'aimd',
        initialLimit: 10,
        isDrop: (e) => e instanceof Error && e.message === '503',
        clock,
      });
      await lim.execute(() => Promise.reject(new Error('503'))).catch(() => {});
      expect(lim.limit).toBe(9);
      // a classifier that throws counts the failure as a plain sample and breaks nothing
      const odd = adaptiveLimit({
        algorithm: 'aimd',
        initialLimit: 1,
        isDrop: () => {
          throw new Error('bug');
        },
        clock,
      });
      await expect(odd.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
      expect(odd.inflight).toBe(0);
      expect(odd.limit).toBe(2);
    });
  });

  describe('gradient', () => {
    it('grows while latency is steady and shrinks when it rises, then recovers', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({
        algorithm: 'gradient',
        initialLimit: 10,
        minLimit: 2,
        maxLimit: 100,
        windowMs: 0,
        clock,
      });
      for (let i = 0; i < 20; i++) await round(lim, clock, lim.limit, 10);
      const grown = lim.limit;
      expect(grown).toBeGreaterThan(20);
      // latency jumps 5×: the short-term average leaves the long-term one behind
      for (let i = 0; i < 10; i++) await round(lim, clock, lim.limit, 50);
      const shrunk = lim.limit;
      expect(shrunk).toBeLessThan(grown * 0.7);
      expect(shrunk).toBeGreaterThanOrEqual(2);
      // latency back to normal: it grows again
      for (let i = 0; i < 20; i++) await round(lim, clock, lim.limit, 10);
      expect(lim.limit).toBeGreaterThan(shrunk);
    });

    it('does not grow when traffic stays under half the limit', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({
        algorithm: 'gradient',
        initialLimit: 20,
        windowMs: 0,
        windowSamples: 5,
        clock,
      });
      for (let i = 0; i < 20; i++) await round(lim, clock, 5, 10);
      expect(lim.limit).toBe(20);
    });

    it('updates once per window (time and samples), and shrinks on a window with a drop', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({
        algorithm: 'gradient',
        initialLimit: 10,
        windowMs: 100,
        windowSamples: 3,
        smoothing: 1,
        clock,
      });
      // many samples, but the window opened with the first one (at 10 ms) lasts 100 ms
      for (let i = 0; i < 10; i++) await round(lim, clock, 10, 10);
      expect(lim.limit).toBe(10);
      await round(lim, clock, 10, 10); // the window closes at 110 ms: 10 + √10
      expect(lim.limit).toBe(13);
      const before = lim.limit;
      const p = outcome(lim.execute(() => Promise.reject(timeoutError())));
      await p;
      for (let i = 0; i < 10; i++) await round(lim, clock, 1, 10); // light traffic, fast: no growth
      expect(lim.limit).toBe(10); // 13.16 × 0.5 + √13.16
      expect(lim.limit).toBeLessThan(before);
    });

    it('publishes each change of the limit on the limit channel', async () => {
      const clock = new ManualClock();
      const lim = adaptiveLimit({
        algorithm: 'gradient',
        initialLimit: 4,
        windowMs: 0,
        windowSamples: 2,
        name: 'g',
        clock,
      });
      const { events, stop } = collect('faultline:resilience:limit');
      try {
        for (let i = 0; i < 3; i++) await round(lim, clock, lim.limit, 10);
      } finally {
        stop();
      }
      expect(events.length).toBeGreaterThan(0);
      let previous = 4;
      for (const e of events) {
        expect(e).toMatchObject({ policy: 'adaptive-limit', name: 'g', previous, latencyMs: 10 });
        expect(e.limit).not.toBe(e.previous);
        expect(typeof e.inflight).toBe('number');
        previous = e.limit as number;
      }
      expect(previous).toBe(lim.limit);
    });
  });

  it('validates its options', () => {
    expect(() => adaptiveLimit({ algorithm: 'vegas' as 'aimd' })).toThrow(/algorithm/);
    expect(() => adaptiveLimit({ minLimit: 0 })).toThrow(/minLimit/);
    expect(() => adaptiveLimit({ minLimit: 10, maxLimit: 5 })).toThrow(/maxLimit/);
    expect(() => adaptiveLimit({ minLimit: 10, maxLimit: 50, initialLimit: 5 })).toThrow(/initialLimit/);
    expect(() => adaptiveLimit({ maxLimit: Number.POSITIVE_INFINITY })).toThrow(/maxLimit/);
    expect(() => adaptiveLimit({ backoffRatio: 1 })).toThrow(/backoffRatio/);
    expect(() => adaptiveLimit({ algorithm: 'gradient', smoothing: 0 })).toThrow(/smoothing/);
    expect(() => adaptiveLimit({ algorithm: 'gradient', tolerance: 0.5 })).toThrow(/tolerance/);
    expect(adaptiveLimit({ minLimit: 50 }).limit).toBe(50);
    expect(adaptiveLimit({ maxLimit: 8 }).limit).toBe(8);
    expect(adaptiveLimit().limit).toBe(20);
  });
});

type Op =
  | { kind: 'start' }
  | { kind: 'finish'; pick: number; how: 'ok' | 'drop' | 'error' }
  | { kind: 'advance'; ms: number };

describe('adaptiveLimit (property)', () => {
  it('keeps the limit within [minLimit, maxLimit] and admits only under it; every call releases', async () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.constant<Op>({ kind: 'start' }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('finish' as const),
          pick: fc.nat(),
          how: fc.constantFrom('ok' as const, 'ok' as const, 'drop' as const, 'error' as const),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('aimd' as const, 'gradient' as const),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(op, { maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        async (algorithm, minLimit, spanA, spanB, ops, windowSamples) => {
          const clock = new ManualClock();
          const maxLimit = minLimit + spanA;
          const initialLimit = minLimit + Math.min(spanA, spanB);
          const lim = adaptiveLimit({
            algorithm,
            minLimit,
            maxLimit,
            initialLimit,
            latencyThresholdMs: 250,
            windowMs: 0,
            windowSamples,
            clock,
          });
          const running: { settle: (how: 'ok' | 'drop' | 'error') => void; done: boolean }[] = [];
          for (const o of ops) {
            if (o.kind === 'start') {
              const before = { inflight: lim.inflight, limit: lim.limit };
              const c = { settle: (_: 'ok' | 'drop' | 'error') => {}, done: false };
              let admitted = false;
              const p = lim.execute(
                () =>
                  new Promise<void>((resolve, reject) => {
                    admitted = true;
                    c.settle = (how) =>
                      how === 'ok' ? resolve() : reject(how === 'drop' ? timeoutError() : new Error('boom'));
                  }),
              );
              p.then(
                () => (c.done = true),
                () => (c.done = true),
              );
              if (admitted) {
                expect(before.inflight).toBeLessThan(before.limit);
                expect(lim.inflight).toBeLessThanOrEqual(lim.limit);
                running.push(c);
              } else {
                expect(before.inflight).toBeGreaterThanOrEqual(before.limit);
              }
            } else if (o.kind === 'finish') {
              const live = running.filter((c) => !c.done);
              live[o.pick % Math.max(1, live.length)]?.settle(o.how);
            } else {
              await clock.advance(o.ms);
            }
            await clock.advance(0);
            expect(lim.limit).toBeGreaterThanOrEqual(minLimit);
            expect(lim.limit).toBeLessThanOrEqual(maxLimit);
            expect(Number.isInteger(lim.limit)).toBe(true);
            expect(lim.inflight).toBe(running.filter((c) => !c.done).length);
          }
          for (const c of running) c.settle('ok');
          await clock.advance(0);
          expect(lim.inflight).toBe(0);
          expect(lim.limit).toBeGreaterThanOrEqual(minLimit);
          expect(lim.limit).toBeLessThanOrEqual(maxLimit);
        },
      ),
      { numRuns: 200 },
    );
  });
});
