import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { wrap } from '../core/pipeline.js';
import { withDeadline } from '../deadline/deadline.js';
import { retry } from '../retry/retry.js';
import { rateLimiter } from './rate-limiter.js';

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

describe('rateLimiter', () => {
  it('admits a burst, then rejects with FL_RATE_LIMITED and the time to the next token', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 10, burst: 3, name: 'api', clock });
    for (let i = 0; i < 3; i++) await expect(r.execute(() => i)).resolves.toBe(i);
    const err = await outcome(r.execute(() => 'no'));
    expect(err).toMatchObject({
      code: 'FL_RATE_LIMITED',
      policy: 'rate-limiter:api',
      retryable: false,
      details: { retryAfterMs: 100, ratePerSecond: 10, burst: 3, maxWaitMs: 0, waiting: 0 },
    });
    await clock.advance(50);
    await expect(r.execute(() => 'no')).rejects.toMatchObject({ details: { retryAfterMs: 50 } });
    await clock.advance(50);
    await expect(r.execute(() => 'yes')).resolves.toBe('yes');
    expect(clock.pendingTimers).toBe(0);
  });

  it('refills at the rate, up to burst; time spent full adds nothing', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 10, burst: 5, clock });
    await r.execute(() => 0);
    await r.execute(() => 0);
    expect(r.tokens).toBe(3);
    await clock.advance(100);
    expect(r.tokens).toBeCloseTo(4);
    await clock.advance(60_000);
    expect(r.tokens).toBe(5);
  });

  it('after a quiet spell admits exactly `burst` calls back to back, however many tokens it had', async () => {
    for (const used of [0, 1, 3, 5]) {
      const clock = new ManualClock();
      const r = rateLimiter({ ratePerSecond: 10, burst: 5, clock });
      for (let i = 0; i < used; i++) await r.execute(() => i);
      await clock.advance(60_000);
      let admitted = 0;
      for (let i = 0; i < 12; i++) await r.execute(() => admitted++).catch(() => {});
      expect(admitted).toBe(5);
    }
  });

  it('waits up to maxWaitMs for a token, in arrival order, with no timer when a token is there', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 250, clock });
    const order: number[] = [];
    const p0 = r.execute(() => order.push(0));
    expect(clock.pendingTimers).toBe(0);
    const p1 = r.execute(() => order.push(1)); // due at 100
    const p2 = r.execute(() => order.push(2)); // due at 200
    expect(r.waiting).toBe(2);
    // the next one would wait 300 ms > maxWaitMs: rejected at once
    await expect(r.execute(() => order.push(3))).rejects.toMatchObject({
      code: 'FL_RATE_LIMITED',
      details: { retryAfterMs: 300, waiting: 2 },
    });
    await clock.advance(99);
    expect(order).toEqual([0]);
    await clock.advance(1);
    expect(order).toEqual([0, 1]);
    await clock.advance(100);
    expect(order).toEqual([0, 1, 2]);
    await Promise.all([p0, p1, p2]);
    expect(r.waiting).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a waiter whose caller aborts leaves at once, never runs, and gives its token back', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1000, clock });
    await r.execute(() => 0);
    const ac = new AbortController();
    let ran = false;
    const p = outcome(r.execute(() => (ran = true), { signal: ac.signal }));
    expect(r.waiting).toBe(1);
    await clock.advance(50);
    ac.abort(new Error('bye'));
    expect(r.waiting).toBe(0);
    expect(await p).toMatchObject({ code: 'FL_ABORTED', policy: 'rate-limiter' });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
    // the reservation was returned: half a token has accrued, the next one is 50 ms away
    await clock.advance(50);
    await expect(r.execute(() => 'next')).resolves.toBe('next');
    expect(ran).toBe(false);
  });

  it('when a waiter in the middle aborts, the ones behind it move up a slot', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1000, clock });
    const startedAt: Record<string, number> = {};
    const run = (name: string, signal?: AbortSignal) =>
      r
        .execute(() => (startedAt[name] = clock.now()), signal === undefined ? undefined : { signal })
        .catch((e: unknown) => e);
    const ac = new AbortController();
    void run('a');
    const b = run('b', ac.signal); // due at 100
    void run('c'); // due at 200
    void run('d'); // due at 300
    await clock.advance(50);
    ac.abort('gone');
    expect(await b).toMatchObject({ code: 'FL_ABORTED' });
    void run('e'); // the slot b left is reused: due at 300, not 400
    await clock.advance(500);
    expect(startedAt).toEqual({ a: 0, c: 100, d: 200, e: 300 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not wait for a token that comes after the deadline', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 1000, clock });
    await r.execute(() => 0);
    const { events, stop } = collect('faultline:resilience:reject');
    try {
      await expect(withDeadline(50, () => r.execute(() => 1), { clock })).rejects.toMatchObject({
        code: 'FL_DEADLINE_EXCEEDED',
      });
      expect(events).toMatchObject([
        { policy: 'rate-limiter', code: 'FL_DEADLINE_EXCEEDED', reason: 'deadline' },
      ]);
    } finally {
      stop();
    }
    expect(r.waiting).toBe(0);
    const p = withDeadline(150, () => r.execute(() => 'in time'), { clock });
    await clock.advance(100);
    await expect(p).resolves.toBe('in time');
  });

  it('publishes rejections on the reject channel', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 2, burst: 1, name: 'x', clock });
    await r.execute(() => 0);
    const { events, stop } = collect('faultline:resilience:reject');
    try {
      await r.execute(() => 1).catch(() => {});
    } finally {
      stop();
    }
    expect(events).toEqual([
      {
        policy: 'rate-limiter',
        name: 'x',
        code: 'FL_RATE_LIMITED',
        reason: 'no-token',
        details: { retryAfterMs: 500, ratePerSecond: 2, burst: 1, maxWaitMs: 0, waiting: 0 },
      },
    ]);
  });

  it('is not retried by a retry policy (not retryable)', async () => {
    const clock = new ManualClock();
    const r = rateLimiter({ ratePerSecond: 1, burst: 1, clock });
    const policy = wrap(retry({ maxRetries: 3, backoff: 0, clock }), r);
    let runs = 0;
    await policy.execute(() => runs++);
    await expect(policy.execute(() => runs++)).rejects.toMatchObject({ code: 'FL_RATE_LIMITED' });
    expect(runs).toBe(1);
  });

  it('validates its options', () => {
    expect(() => rateLimiter({ ratePerSecond: 0 })).toThrow(/ratePerSecond/);
    expect(() => rateLimiter({ ratePerSecond: Number.POSITIVE_INFINITY })).toThrow(/ratePerSecond/);
    expect(() => rateLimiter({ ratePerSecond: 1, burst: 0.5 })).toThrow(/burst/);
    expect(() => rateLimiter({ ratePerSecond: 1, maxWaitMs: -1 })).toThrow(/maxWaitMs/);
    expect(rateLimiter({ ratePerSecond: 0.5 }).burst).toBe(1);
    expect(rateLimiter({ ratePerSecond: 40 }).burst).toBe(40);
  });
});

type Op =
  | { kind: 'call' }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'inspect' };

describe('rateLimiter (property)', () => {
  it('tokens never exceed burst; any window admits at most burst + rate × its length; aborted waiters never run', async () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.constant<Op>({ kind: 'call' }) },
      { weight: 1, arbitrary: fc.constant<Op>({ kind: 'inspect' }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 0, 50, 300, 2000),
        fc.array(op, { maxLength: 80 }),
        async (ratePerSecond, burst, maxWaitMs, ops) => {
          const clock = new ManualClock();
          const r = rateLimiter({ ratePerSecond, burst, maxWaitMs, clock });
          const admittedAt: number[] = [];
          const waiters: { ac: AbortController; ran: boolean; settled: boolean; aborted: boolean }[] = [];
          for (const o of ops) {
            if (o.kind === 'call') {
              const w = { ac: new AbortController(), ran: false, settled: false, aborted: false };
              waiters.push(w);
              r.execute(
                () => {
                  w.ran = true;
                  admittedAt.push(clock.now());
                },
                { signal: w.ac.signal },
              ).then(
                () => (w.settled = true),
                () => (w.settled = true),
              );
            } else if (o.kind === 'abort') {
              const live = waiters.filter((w) => !w.settled && !w.ran);
              const w = live[o.pick % Math.max(1, live.length)];
              if (w !== undefined) {
                w.aborted = true;
                w.ac.abort('gone');
              }
            } else if (o.kind === 'inspect') {
              // reading the bucket must not change what it admits: checked only now and then
              expect(r.tokens).toBeLessThanOrEqual(burst);
            } else {
              await clock.advance(o.ms);
            }
            await clock.advance(0);
            expect(r.waiting).toBe(waiters.filter((w) => !w.settled && !w.ran).length);
          }
          await clock.advance(maxWaitMs + 1);
          expect(r.waiting).toBe(0);
          expect(clock.pendingTimers).toBe(0);
          for (const w of waiters) if (w.aborted) expect(w.ran).toBe(false);
          const eps = 1e-6;
          // since the start
          expect(admittedAt.length).toBeLessThanOrEqual(burst + (ratePerSecond * clock.now()) / 1000 + eps);
          // and in every window between two admissions
          for (let i = 0; i < admittedAt.length; i++) {
            for (let j = i; j < admittedAt.length; j++) {
              const span = (admittedAt[j] as number) - (admittedAt[i] as number);
              expect(j - i + 1).toBeLessThanOrEqual(burst + (ratePerSecond * span) / 1000 + eps);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never rejects calls that come no faster than the rate', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 40 }),
        async (ratePerSecond, burst, extra) => {
          const clock = new ManualClock();
          const r = rateLimiter({ ratePerSecond, burst, clock });
          for (const ms of extra) {
            await expect(r.execute(() => true)).resolves.toBe(true);
            await clock.advance(Math.ceil(1000 / ratePerSecond) + ms);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
