import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { isFaultlineError } from '../core/errors.js';
import { wrap } from '../core/pipeline.js';
import type { ExecuteContext } from '../core/scope.js';
import { remainingTime, withDeadline } from '../deadline/deadline.js';
import { retry } from '../retry/retry.js';
import { RetryBudget } from '../retry/retry-budget.js';
import { timeout } from '../timeout/timeout.js';
import { hedge } from './hedge.js';

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

/** Work that settles after `ms` on the clock with `value` (or `error`), and rejects with the signal's reason when aborted. */
function after<T>(clock: ManualClock, ms: number, signal: AbortSignal, value: T, error?: Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => (error === undefined ? resolve(value) : reject(error)), ms);
    signal.addEventListener(
      'abort',
      () => {
        clock.clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Records every attempt's context; attempt i (0-based) takes `plan[i]` ms and yields `i`. */
function planned(clock: ManualClock, plan: { ms: number; fail?: boolean }[]) {
  const seen: ExecuteContext[] = [];
  const work = (ctx: ExecuteContext) => {
    const i = seen.length;
    seen.push(ctx);
    const step = plan[i] ?? { ms: 1_000_000 };
    return after(clock, step.ms, ctx.signal, i, step.fail ? new Error(`attempt ${i} failed`) : undefined);
  };
  return { seen, work };
}

describe('hedge', () => {
  it('does not hedge an attempt that finishes within the delay, and leaves no timer behind', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 100, clock });
    const { seen, work } = planned(clock, [{ ms: 40 }]);
    const p = h.execute(work);
    await clock.advance(40);
    await expect(p).resolves.toBe(0);
    expect(seen).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('starts a hedge after the delay; the first success wins and the loser is aborted with a reason', async () => {
    const clock = new ManualClock();
    const events = collect('faultline:resilience:hedge');
    try {
      const h = hedge({ delayMs: 100, clock, name: 'api' });
      const { seen, work } = planned(clock, [{ ms: 500 }, { ms: 30 }]);
      const p = h.execute(work);
      await clock.advance(99);
      expect(seen).toHaveLength(1);
      await clock.advance(1);
      expect(seen).toHaveLength(2);
      expect(events.events).toEqual([{ policy: 'hedge', name: 'api', attempt: 2, delayMs: 100 }]);
      await clock.advance(30);
      await expect(p).resolves.toBe(1);
      const loser = seen[0]?.signal;
      expect(loser?.aborted).toBe(true);
      expect(loser?.reason).toMatchObject({ code: 'FL_ABORTED', policy: 'hedge:api' });
      expect(seen[1]?.signal.aborted).toBe(false);
      expect(seen[1]?.attempt).toBe(1);
      expect(clock.pendingTimers).toBe(0);
    } finally {
      events.stop();
    }
  });

  it('the first attempt can still win after a hedge started; the hedge is aborted', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 100, clock });
    const { seen, work } = planned(clock, [{ ms: 120 }, { ms: 500 }]);
    const p = h.execute(work);
    await clock.advance(120);
    await expect(p).resolves.toBe(0);
    expect(seen[1]?.signal.aborted).toBe(true);
  });

  it('starts up to maxHedges attempts, one delay apart', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 50, maxHedges: 2, clock });
    const { seen, work } = planned(clock, [{ ms: 1000 }, { ms: 1000 }, { ms: 1000 }]);
    const p = h.execute(work);
    await clock.advance(50);
    expect(seen).toHaveLength(2);
    await clock.advance(50);
    expect(seen).toHaveLength(3);
    await clock.advance(500);
    expect(seen).toHaveLength(3);
    await clock.advance(400);
    await expect(p).resolves.toBe(0);
    expect(seen.slice(1).every((c) => c.signal.aborted)).toBe(true);
  });

  it('fails with the error of the attempt that failed last when every attempt fails', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 100, clock });
    const { work } = planned(clock, [
      { ms: 300, fail: true },
      { ms: 50, fail: true },
    ]);
    const p = h.execute(work);
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(150);
    // the hedge failed first; the primary is still running, so the call waits for it
    await clock.advance(150);
    expect(await outcome).toMatchObject({ message: 'attempt 0 failed' });
  });

  it('hedging is not retrying: a lone attempt that fails before the delay fails the call at once', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 100, clock });
    const { seen, work } = planned(clock, [{ ms: 10, fail: true }]);
    const p = h.execute(work);
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(10);
    expect(await outcome).toMatchObject({ message: 'attempt 0 failed' });
    expect(seen).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never hedges non-idempotent work unless told to', async () => {
    const clock = new ManualClock();
    const { seen, work } = planned(clock, [{ ms: 300 }, { ms: 10 }]);
    const p = hedge({ delayMs: 100, clock }).execute(work, { idempotent: false });
    await clock.advance(300);
    await expect(p).resolves.toBe(0);
    expect(seen).toHaveLength(1);

    const told = planned(clock, [{ ms: 300 }, { ms: 10 }]);
    const q = hedge({ delayMs: 100, clock, nonIdempotent: true }).execute(told.work, { idempotent: false });
    await clock.advance(110);
    await expect(q).resolves.toBe(1);
  });

  it('a budget caps hedges at a share of calls', async () => {
    const clock = new ManualClock();
    const exhausted = collect('faultline:resilience:budget-exhausted');
    try {
      const h = hedge({ delayMs: 10, budget: 0.1, clock });
      let attempts = 0;
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        calls.push(
          h.execute(({ signal }) => {
            attempts++;
            return after(clock, 100, signal, 'ok');
          }),
        );
      }
      await clock.advance(100);
      await Promise.all(calls);
      expect(attempts).toBe(55);
      expect(exhausted.events.length).toBe(45);

      const shared = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0, clock });
      const none = planned(clock, [{ ms: 100 }, { ms: 1 }]);
      const p = hedge({ delayMs: 10, budget: shared, clock }).execute(none.work);
      await clock.advance(100);
      await expect(p).resolves.toBe(0);
      expect(none.seen).toHaveLength(1);
    } finally {
      exhausted.stop();
    }
  });

  it('does not start a hedge that the deadline leaves too little time for (default: the delay)', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 100, clock });
    const short = planned(clock, [{ ms: 150 }, { ms: 1 }]);
    const p = withDeadline(180, () => h.execute(short.work), { clock });
    await clock.advance(150);
    await expect(p).resolves.toBe(0);
    // at 100 ms only 80 ms were left: less than the 100 ms an attempt is expected to take
    expect(short.seen).toHaveLength(1);

    const left: number[] = [];
    const lenient = hedge({ delayMs: 100, minRemainingMs: 50, clock });
    const q = withDeadline(
      180,
      () =>
        lenient.execute((ctx) => {
          left.push(remainingTime());
          return after(clock, left.length === 1 ? 150 : 10, ctx.signal, left.length);
        }),
      { clock },
    );
    await clock.advance(110);
    await expect(q).resolves.toBe(2);
    // the hedge ran inside the caller's deadline even though a manual clock started it
    expect(left).toEqual([180, 80]);
  });

  it('a caller abort aborts every attempt and stops hedging', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 100, maxHedges: 3, clock });
    const { seen, work } = planned(clock, []);
    const ac = new AbortController();
    const p = h.execute(work, { signal: ac.signal });
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(150);
    expect(seen).toHaveLength(2);
    ac.abort(new Error('client went away'));
    await clock.advance(1000);
    expect(seen).toHaveLength(2);
    expect(seen.every((c) => c.signal.aborted)).toBe(true);
    expect(await outcome).toMatchObject({ message: 'client went away' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('composes with a per-attempt timeout: each attempt has its own', async () => {
    const clock = new ManualClock();
    const p0 = wrap(hedge({ delayMs: 100, clock }), timeout(150, { clock, resolution: 0 }));
    const { seen, work } = planned(clock, []);
    const p = p0.execute(work);
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(150);
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(seen[1]?.signal.aborted).toBe(false);
    await clock.advance(100);
    const err = await outcome;
    expect(isFaultlineError(err) && err.code).toBe('FL_TIMEOUT');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a loser settling late does not leak its scope into the next retry attempt', async () => {
    const clock = new ManualClock();
    const policy = wrap(
      retry({ maxRetries: 1, backoff: 50, clock, retryOnResult: (r: string) => r === 'again' }),
      hedge({ delayMs: 10, clock }),
      timeout(1000, { clock, resolution: 0 }),
    );
    const contexts: ExecuteContext[] = [];
    const p = policy.execute((ctx) => {
      contexts.push(ctx);
      const n = contexts.length;
      // attempt 1: primary slow, hedge answers "again"; the aborted primary rejects 5 ms later
      if (n === 1)
        return new Promise<string>((_, reject) =>
          ctx.signal.addEventListener('abort', () => clock.setTimeout(() => reject(ctx.signal.reason), 5)),
        );
      if (n === 2) return after(clock, 5, ctx.signal, 'again');
      return after(clock, 5, ctx.signal, 'done');
    });
    await clock.advance(200);
    await expect(p).resolves.toBe('done');
    expect(contexts).toHaveLength(3);
    expect(contexts[2]?.attempt).toBe(2);
    expect(contexts[2]?.signal.aborted).toBe(false);
  });

  it('adapts the delay to a percentile of observed latency', async () => {
    const clock = new ManualClock();
    const h = hedge({ delayMs: 'p90', initialDelayMs: 1000, clock });
    expect(h.delayMs).toBe(1000);
    for (let i = 1; i <= 20; i++) {
      const p = h.execute(({ signal }) => after(clock, i * 10, signal, i));
      await clock.advance(i * 10);
      await p;
    }
    // latencies 10..200 ms: the 90th percentile is 180 ms
    expect(h.delayMs).toBe(180);
  });

  it('rejects nonsense options', () => {
    expect(() => hedge({ delayMs: -1 })).toThrow(/option "delayMs"/);
    expect(() => hedge({ delayMs: 'p100' })).toThrow(/option "delayMs"/);
    expect(() => hedge({ delayMs: 'fast' as 'p1' })).toThrow(/option "delayMs"/);
    expect(() => hedge({ delayMs: 10, maxHedges: 1.5 })).toThrow(/option "maxHedges"/);
    expect(() => hedge({ delayMs: 10, budget: -0.1 })).toThrow(/option "budget"/);
  });
});

describe('hedged attempts are calls of their own', () => {
  it('a retry inside a hedge retries each attempt separately, and the loser is aborted', async () => {
    const clock = new ManualClock();
    const policy = wrap(
      hedge({ delayMs: 10, clock }),
      retry({ maxRetries: 1, backoff: 5, clock }),
      timeout(1000, { clock, resolution: 1 }),
    );
    const log: string[] = [];
    let calls = 0;
    const signals: AbortSignal[] = [];
    const p = policy.execute(({ signal, attempt }) => {
      const n = ++calls;
      signals.push(signal);
      log.push(`call ${n} attempt ${attempt}`);
      if (n === 1)
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      if (n === 2) return Promise.reject(new Error('hedge failed once'));
      return `won by call ${n}`;
    });
    for (let i = 0; i < 10; i++) await clock.advance(5);
    await expect(p).resolves.toBe('won by call 3');
    expect(log).toEqual(['call 1 attempt 1', 'call 2 attempt 1', 'call 3 attempt 2']);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[2]?.aborted).toBe(false);
  });
});
