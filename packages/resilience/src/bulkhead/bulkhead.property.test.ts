import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { isFaultlineError } from '../core/errors.js';
import { bulkhead } from './bulkhead.js';

type Op =
  | { kind: 'start' }
  | { kind: 'finish'; pick: number; ok: boolean }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Op>({ kind: 'start' }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), ok: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 80 }) }),
  },
);

interface Tracked {
  seq: number;
  ac: AbortController;
  started: boolean;
  settled: boolean;
  error: unknown;
  abortedWhileQueued: boolean;
  finish: (ok: boolean) => void;
}

describe('bulkhead state machine (property)', () => {
  it('never exceeds its limits, serves waiters in order, never runs aborted waiters, and frees every slot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.option(fc.integer({ min: 1, max: 150 }), { nil: undefined }),
        fc.array(op, { maxLength: 60 }),
        async (maxConcurrent, maxQueued, acquireTimeoutMs, ops) => {
          const clock = new ManualClock();
          const b = bulkhead({
            maxConcurrent,
            maxQueued,
            clock,
            ...(acquireTimeoutMs === undefined ? {} : { acquireTimeoutMs }),
          });
          const calls: Tracked[] = [];
          const queuedOrder: number[] = [];
          const startOrder: number[] = [];

          const check = () => {
            const running = calls.filter((c) => c.started && !c.settled).length;
            const waiting = calls.filter((c) => !c.started && !c.settled).length;
            expect(b.active).toBeLessThanOrEqual(maxConcurrent);
            expect(b.queued).toBeLessThanOrEqual(maxQueued);
            expect(b.active).toBe(running);
            expect(b.queued).toBe(waiting);
            for (const c of calls) if (c.abortedWhileQueued) expect(c.started).toBe(false);
          };

          const start = async () => {
            const before = { active: b.active, queued: b.queued };
            const t: Tracked = {
              seq: calls.length,
              ac: new AbortController(),
              started: false,
              settled: false,
              error: undefined,
              abortedWhileQueued: false,
              finish: () => {},
            };
            calls.push(t);
            b.execute(
              ({ signal }) => {
                t.started = true;
                startOrder.push(t.seq);
                return new Promise<void>((resolve, reject) => {
                  t.finish = (ok) => (ok ? resolve() : reject(new Error('fail')));
                  signal.addEventListener('abort', () => reject(signal.reason), { once: true });
                });
              },
              { signal: t.ac.signal },
            ).then(
              () => {
                t.settled = true;
              },
              (e: unknown) => {
                t.settled = true;
                t.error = e;
              },
            );
            await clock.advance(0);
            if (isFaultlineError(t.error) && t.error.code === 'FL_BULKHEAD_FULL') {
              // rejected only when every slot and every queue place was taken
              expect(before).toEqual({ active: maxConcurrent, queued: maxQueued });
            } else if (!t.started) {
              queuedOrder.push(t.seq);
            }
          };

          for (const o of ops) {
            if (o.kind === 'start') {
              await start();
            } else if (o.kind === 'finish') {
              const running = calls.filter((c) => c.started && !c.settled);
              running[o.pick % Math.max(1, running.length)]?.finish(o.ok);
              await clock.advance(0);
            } else if (o.kind === 'abort') {
              const live = calls.filter((c) => !c.settled);
              const c = live[o.pick % Math.max(1, live.length)];
              if (c !== undefined) {
                const queuedBefore = b.queued;
                if (!c.started) c.abortedWhileQueued = true;
                c.ac.abort(new Error('caller gave up'));
                // a waiter leaves the queue synchronously
                if (!c.started) expect(b.queued).toBe(queuedBefore - 1);
              }
              await clock.advance(0);
            } else {
              await clock.advance(o.ms);
            }
            check();
          }

          // waiters are served in arrival order
          const served = startOrder.filter((s) => queuedOrder.includes(s));
          expect(served).toEqual([...served].sort((x, y) => x - y));

          // drain: finish everything that runs (waiters then get slots, or time out)
          for (let i = 0; i < 50 && calls.some((c) => !c.settled); i++) {
            for (const c of calls) if (c.started && !c.settled) c.finish(true);
            await clock.advance(200);
          }
          for (const c of calls) if (!c.settled) c.ac.abort('end');
          await clock.advance(0);
          check();
          expect(b.active).toBe(0);
          expect(b.queued).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
