import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { isFaultlineError } from '../core/errors.js';
import { wrap } from '../core/pipeline.js';
import { withDeadline } from '../deadline/deadline.js';
import { timeout } from '../timeout/timeout.js';
import { type LoadShedderOptions, loadShedder } from './load-shedder.js';

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

/** A shedder on a manual clock, and calls whose work takes a set time (or runs until released). */
function harness(options: Omit<LoadShedderOptions, 'clock'>) {
  const clock = new ManualClock();
  const shed = loadShedder({ ...options, clock });
  const started: string[] = [];
  const errors = new Map<string, unknown>();
  const release = new Map<string, () => void>();
  const call = (name: string, durationMs?: number, signal?: AbortSignal): Promise<unknown> => {
    const p = shed.execute(
      () =>
        new Promise<void>((resolve) => {
          started.push(name);
          if (durationMs === undefined) release.set(name, resolve);
          else clock.setTimeout(resolve, durationMs);
        }),
      signal === undefined ? undefined : { signal },
    );
    return p.catch((e: unknown) => {
      errors.set(name, e);
    });
  };
  return { clock, shed, started, errors, release, call };
}

describe('loadShedder', () => {
  it('runs up to maxConcurrent, queues in FIFO order, and refuses when the queue is full', async () => {
    const h = harness({ maxConcurrent: 1, maxQueued: 2, name: 'api' });
    void h.call('a');
    void h.call('b', 1);
    void h.call('c', 1);
    await h.call('d', 1);
    expect(h.shed.active).toBe(1);
    expect(h.shed.queued).toBe(2);
    expect(h.errors.get('d')).toMatchObject({
      code: 'FL_LOAD_SHED',
      policy: 'load-shedder:api',
      retryable: false,
      details: {
        reason: 'queue-full',
        active: 1,
        queued: 2,
        dropping: false,
        targetDelayMs: 5,
        intervalMs: 100,
      },
    });
    await h.clock.advance(1);
    h.release.get('a')?.();
    await h.clock.advance(10);
    expect(h.started).toEqual(['a', 'b', 'c']);
    expect(h.shed.active).toBe(0);
    expect(h.shed.dropping).toBe(false);
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('tolerates a queue that drains below target, however long it stays non-empty', async () => {
    const h = harness({ maxConcurrent: 1, maxQueued: 10, targetDelayMs: 5, intervalMs: 100 });
    // each call takes 4 ms and the next one is always waiting: every waiter waits 4 ms < 5 ms
    void h.call('0', 4);
    for (let i = 1; i <= 100; i++) {
      void h.call(String(i), 4);
      await h.clock.advance(4);
    }
    expect(h.shed.dropping).toBe(false);
    expect(h.errors.size).toBe(0);
    expect(h.started).toHaveLength(101);
  });

  it('starts dropping when the queueing delay stays above target for an interval, and sheds stale waiters', async () => {
    const h = harness({ maxConcurrent: 1, maxQueued: 10, targetDelayMs: 5, intervalMs: 100 });
    const { events, stop } = collect('faultline:resilience:reject');
    try {
      void h.call('hung');
      void h.call('b', 1);
      await h.clock.advance(50);
      void h.call('c', 1);
      await h.clock.advance(54); // t = 104: delay above target since t = 5, not yet an interval
      expect(h.shed.dropping).toBe(false);
      expect(h.shed.queued).toBe(2);
      await h.clock.advance(1); // t = 105
      expect(h.shed.dropping).toBe(true);
      expect(h.shed.queued).toBe(0);
      expect(h.errors.get('b')).toMatchObject({
        code: 'FL_LOAD_SHED',
        details: { reason: 'sojourn', dropping: true, sojournMs: 105 },
      });
      expect(h.errors.get('c')).toMatchObject({ code: 'FL_LOAD_SHED', details: { sojournMs: 55 } });
      // while the dependency stays stuck, each newcomer gets targetDelayMs, then is shed
      void h.call('d', 1);
      await h.clock.advance(4);
      expect(h.shed.queued).toBe(1);
      await h.clock.advance(1);
      expect(h.shed.queued).toBe(0);
      expect(h.errors.has('d')).toBe(true);
    } finally {
      stop();
    }
    expect(events.map((e) => [e.policy, e.code, e.reason])).toEqual([
      ['load-shedder', 'FL_LOAD_SHED', 'sojourn'],
      ['load-shedder', 'FL_LOAD_SHED', 'sojourn'],
      ['load-shedder', 'FL_LOAD_SHED', 'sojourn'],
    ]);
    expect(h.started).toEqual(['hung']);
    // the dependency recovers: the next call finds a free slot and an empty queue
    h.release.get('hung')?.();
    await h.clock.advance(0);
    void h.call('e', 0);
    await h.clock.advance(0);
    expect(h.shed.dropping).toBe(false);
    expect(h.started).toEqual(['hung', 'e']);
    expect(h.clock.pendingTimers).toBe(0);
  });

  /** Drives a shedder into dropping: one hung call and a waiter shed after the interval. */
  async function overloaded(options: Omit<LoadShedderOptions, 'clock'>) {
    const h = harness(options);
    void h.call('hung');
    void h.call('stale', 1);
    await h.clock.advance(105);
    expect(h.shed.dropping).toBe(true);
    return h;
  }

  it('serves the newest waiter first while dropping (adaptive LIFO)', async () => {
    const h = await overloaded({ maxConcurrent: 1, maxQueued: 10, targetDelayMs: 5, intervalMs: 100 });
    void h.call('x', 1);
    await h.clock.advance(1);
    void h.call('y', 1);
    await h.clock.advance(1);
    void h.call('z', 1);
    h.release.get('hung')?.();
    await h.clock.advance(2);
    expect(h.started).toEqual(['hung', 'z', 'y', 'x']);
    expect(h.errors.size).toBe(1); // only 'stale'
  });

  it('while dropping, a newcomer evicts the oldest waiter when the queue is full', async () => {
    const h = await overloaded({ maxConcurrent: 1, maxQueued: 2, targetDelayMs: 5, intervalMs: 100 });
    void h.call('x', 1);
    void h.call('y', 1);
    await h.clock.advance(1);
    const { events, stop } = collect('faultline:resilience:reject');
    try {
      void h.call('z', 1);
      await h.clock.advance(0);
    } finally {
      stop();
    }
    expect(h.errors.get('x')).toMatchObject({
      code: 'FL_LOAD_SHED',
      message: expect.stringContaining('evicted'),
    });
    expect(events).toMatchObject([{ code: 'FL_LOAD_SHED', reason: 'evicted', details: { sojournMs: 1 } }]);
    expect(h.shed.queued).toBe(2);
    h.release.get('hung')?.();
    await h.clock.advance(2);
    expect(h.started).toEqual(['hung', 'z', 'y']);
  });

  it('with lifo: false, refuses newcomers at once while dropping and keeps FIFO order', async () => {
    const h = await overloaded({
      maxConcurrent: 1,
      maxQueued: 10,
      targetDelayMs: 5,
      intervalMs: 100,
      lifo: false,
    });
    const { events, stop } = collect('faultline:resilience:reject');
    try {
      await h.call('x', 1);
    } finally {
      stop();
    }
    expect(h.errors.get('x')).toMatchObject({
      code: 'FL_LOAD_SHED',
      details: { reason: 'overloaded', dropping: true, queued: 0 },
    });
    expect(events).toMatchObject([{ policy: 'load-shedder', code: 'FL_LOAD_SHED', reason: 'overloaded' }]);
    h.release.get('hung')?.();
    await h.clock.advance(0);
    void h.call('y', 0);
    await h.clock.advance(0);
    expect(h.shed.dropping).toBe(false);
    expect(h.started).toEqual(['hung', 'y']);
  });

  it('leaves dropping once no waiter reached the target for an interval', async () => {
    const h = await overloaded({ maxConcurrent: 1, maxQueued: 10, targetDelayMs: 5, intervalMs: 100 });
    h.release.get('hung')?.();
    await h.clock.advance(0);
    // from now on the dependency is busy but fast: two calls at a time, each waiter waits 2 ms
    void h.call('a', 2);
    for (let i = 0; i < 60; i++) {
      void h.call(`w${i}`, 2);
      await h.clock.advance(2);
    }
    expect(h.shed.dropping).toBe(false);
    expect(h.errors.size).toBe(1); // only 'stale'
  });

  it('a waiter whose caller aborts leaves the queue at once and never runs', async () => {
    const h = harness({ maxConcurrent: 1, maxQueued: 5 });
    void h.call('hung');
    const ac = new AbortController();
    const p = h.call('w', 1, ac.signal);
    void h.call('v', 1);
    expect(h.shed.queued).toBe(2);
    ac.abort(new Error('bye'));
    expect(h.shed.queued).toBe(1);
    await p;
    expect(h.errors.get('w')).toMatchObject({ code: 'FL_ABORTED', policy: 'load-shedder' });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    h.release.get('hung')?.();
    await h.clock.advance(5);
    expect(h.started).toEqual(['hung', 'v']);
  });

  it('an outer timeout aborts a queued call', async () => {
    const clock = new ManualClock();
    const shed = loadShedder({ maxConcurrent: 1, maxQueued: 5, intervalMs: 10_000, clock });
    let release = () => {};
    void shed.execute(() => new Promise<void>((r) => (release = r)));
    const outer = wrap(timeout(20, { clock, resolution: 1 }), shed);
    let ran = false;
    const p = outer.execute(() => (ran = true)).catch((e: unknown) => e);
    await clock.advance(22);
    expect(shed.queued).toBe(0);
    expect(await p).toMatchObject({ code: 'FL_TIMEOUT' });
    release();
    await clock.advance(0);
    expect(ran).toBe(false);
    expect(shed.active).toBe(0);
  });

  it('never queues past the deadline', async () => {
    const h = harness({ maxConcurrent: 1, maxQueued: 5, intervalMs: 10_000 });
    void h.call('hung');
    const p = withDeadline(30, () => h.call('w', 1), { clock: h.clock });
    await h.clock.advance(29);
    expect(h.shed.queued).toBe(1);
    await h.clock.advance(1);
    await p;
    expect(h.errors.get('w')).toMatchObject({ code: 'FL_DEADLINE_EXCEEDED', policy: 'load-shedder' });
    expect(h.shed.queued).toBe(0);
    await withDeadline(0, () => h.call('late', 1), { clock: h.clock });
    expect(h.errors.get('late')).toMatchObject({ code: 'FL_DEADLINE_EXCEEDED' });
    expect(h.started).toEqual(['hung']);
  });

  it('validates its options', () => {
    expect(() => loadShedder({ maxConcurrent: 0, maxQueued: 1 })).toThrow(/maxConcurrent/);
    expect(() => loadShedder({ maxConcurrent: 1, maxQueued: -1 })).toThrow(/maxQueued/);
    expect(() => loadShedder({ maxConcurrent: 1, maxQueued: 1, targetDelayMs: -1 })).toThrow(/targetDelayMs/);
    expect(() => loadShedder({ maxConcurrent: 1, maxQueued: 1, intervalMs: Number.NaN })).toThrow(
      /intervalMs/,
    );
    expect(loadShedder({ maxConcurrent: 1, maxQueued: Number.POSITIVE_INFINITY }).maxQueued).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

type Op =
  | { kind: 'start' }
  | { kind: 'finish'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number };

describe('loadShedder (property)', () => {
  it('keeps its bounds, never runs aborted waiters, sheds only stale waiters, and frees every slot', async () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.constant<Op>({ kind: 'start' }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          maxConcurrent: fc.integer({ min: 1, max: 3 }),
          maxQueued: fc.integer({ min: 0, max: 4 }),
          targetDelayMs: fc.integer({ min: 0, max: 20 }),
          intervalMs: fc.integer({ min: 0, max: 100 }),
          lifo: fc.boolean(),
        }),
        fc.array(op, { maxLength: 60 }),
        async (options, ops) => {
          const clock = new ManualClock();
          const shed = loadShedder({ ...options, clock });
          type Tracked = {
            ac: AbortController;
            started: boolean;
            settled: boolean;
            abortedWhileQueued: boolean;
            finish: () => void;
          };
          const calls: Tracked[] = [];
          const check = () => {
            expect(shed.active).toBeLessThanOrEqual(options.maxConcurrent);
            expect(shed.queued).toBeLessThanOrEqual(options.maxQueued);
            expect(shed.active).toBe(calls.filter((c) => c.started && !c.settled).length);
            expect(shed.queued).toBe(calls.filter((c) => !c.started && !c.settled).length);
            for (const c of calls) if (c.abortedWhileQueued) expect(c.started).toBe(false);
          };
          for (const o of ops) {
            if (o.kind === 'start') {
              const t: Tracked = {
                ac: new AbortController(),
                started: false,
                settled: false,
                abortedWhileQueued: false,
                finish: () => {},
              };
              calls.push(t);
              shed
                .execute(
                  ({ signal }) => {
                    t.started = true;
                    return new Promise<void>((resolve, reject) => {
                      t.finish = resolve;
                      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
                    });
                  },
                  { signal: t.ac.signal },
                )
                .then(
                  () => (t.settled = true),
                  (e: unknown) => {
                    t.settled = true;
                    // a waiter is shed for its age only once it waited the target delay
                    if (isFaultlineError(e) && e.details?.reason === 'sojourn') {
                      expect(e.details.sojournMs).toBeGreaterThanOrEqual(options.targetDelayMs);
                    }
                  },
                );
            } else if (o.kind === 'finish') {
              const running = calls.filter((c) => c.started && !c.settled);
              running[o.pick % Math.max(1, running.length)]?.finish();
            } else if (o.kind === 'abort') {
              const live = calls.filter((c) => !c.settled);
              const c = live[o.pick % Math.max(1, live.length)];
              if (c !== undefined) {
                const queuedBefore = shed.queued;
                if (!c.started) c.abortedWhileQueued = true;
                c.ac.abort('gone');
                if (!c.started) expect(shed.queued).toBe(queuedBefore - 1);
              }
            } else {
              await clock.advance(o.ms);
            }
            await clock.advance(0);
            check();
          }
          for (let i = 0; i < 50 && calls.some((c) => !c.settled); i++) {
            for (const c of calls) if (c.started && !c.settled) c.finish();
            await clock.advance(50);
          }
          check();
          expect(calls.every((c) => c.settled)).toBe(true);
          expect(shed.active).toBe(0);
          expect(shed.queued).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
