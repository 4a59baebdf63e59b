import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { FaultlineError } from '../core/errors.js';
import { withDeadline } from '../deadline/deadline.js';
import { constant } from './backoff.js';
import { retry } from './retry.js';
import { RetryBudget } from './retry-budget.js';

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

/** Runs timers until the promise settles (bounded). */
async function drive<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 1000 && !done; i++) if (!(await clock.next())) await Promise.resolve();
  return p;
}

describe('retry', () => {
  it('retries failures until success, passing the attempt number', async () => {
    const clock = new ManualClock();
    const r = retry({ maxRetries: 3, backoff: 10, clock });
    const seen: number[] = [];
    const p = r.execute(({ attempt }) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'ok';
    });
    await expect(drive(clock, p)).resolves.toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(clock.now()).toBe(20);
  });

  it('gives up after maxRetries with the last error', async () => {
    const clock = new ManualClock();
    const r = retry({ maxRetries: 2, backoff: 1, clock });
    let n = 0;
    const p = r.execute(() => {
      n++;
      throw new Error(`fail ${n}`);
    });
    await expect(drive(clock, p)).rejects.toThrow('fail 3');
    expect(n).toBe(3);
  });

  it('retries results the caller calls failures (HTTP 503) and returns the last one when exhausted', async () => {
    const clock = new ManualClock();
    const r = retry({
      maxRetries: 2,
      backoff: 0,
      clock,
      retryOnResult: (res: { status: number }) => res.status >= 500,
    });
    const statuses = [503, 502, 200];
    const p = r.execute(() => ({ status: statuses.shift() ?? 0 }));
    await expect(drive(clock, p)).resolves.toEqual({ status: 200 });
    const always = r.execute(() => ({ status: 503 }));
    await expect(drive(clock, always)).resolves.toEqual({ status: 503 });
  });

  it('does not retry errors marked not retryable, nor the caller abort', async () => {
    const clock = new ManualClock();
    const r = retry({ maxRetries: 5, backoff: 0, clock });
    let n = 0;
    const p = r.execute(() => {
      n++;
      throw new FaultlineError('FL_CIRCUIT_OPEN', 'open', { retryable: false });
    });
    await expect(drive(clock, p)).rejects.toMatchObject({ code: 'FL_CIRCUIT_OPEN' });
    expect(n).toBe(1);

    const ac = new AbortController();
    let m = 0;
    const q = r.execute(
      () => {
        m++;
        ac.abort(new Error('bye'));
        throw new Error('failed after abort');
      },
      { signal: ac.signal },
    );
    await expect(drive(clock, q)).rejects.toThrow('failed after abort');
    expect(m).toBe(1);
  });

  it('uses a custom retryOn predicate', async () => {
    const r = retry({ maxRetries: 5, backoff: 0, retryOn: (e) => (e as Error).message === 'transient' });
    let n = 0;
    await expect(
      r.execute(() => {
        n++;
        throw new Error(n < 2 ? 'transient' : 'fatal');
      }),
    ).rejects.toThrow('fatal');
    expect(n).toBe(2);
  });

  it('never retries non-idempotent work unless told', async () => {
    const clock = new ManualClock();
    const giveUp = collect('faultline:resilience:retry-give-up');
    try {
      let n = 0;
      const work = () => {
        n++;
        throw new Error('boom');
      };
      await expect(
        drive(clock, retry({ backoff: 0, clock }).execute(work, { idempotent: false })),
      ).rejects.toThrow();
      expect(n).toBe(1);
      expect(giveUp.events[0]).toMatchObject({ reason: 'non-idempotent', attempts: 1 });
      n = 0;
      const told = retry({ maxRetries: 2, backoff: 0, clock, nonIdempotent: true });
      await expect(drive(clock, told.execute(work, { idempotent: false }))).rejects.toThrow();
      expect(n).toBe(3);
    } finally {
      giveUp.stop();
    }
  });

  it('honours Retry-After from a result, and gives up when it is longer than allowed', async () => {
    const clock = new ManualClock();
    const r = retry({
      maxRetries: 2,
      backoff: 10,
      clock,
      retryOnResult: (res: { status: number }) => res.status === 429,
      maxRetryAfterMs: 5000,
    });
    const responses = [
      { status: 429, headers: new Headers({ 'retry-after': '2' }) },
      { status: 200, headers: new Headers() },
    ];
    const p = r.execute(() => responses.shift());
    await expect(drive(clock, p)).resolves.toMatchObject({ status: 200 });
    expect(clock.now()).toBe(2000);

    let n = 0;
    const tooLong = r.execute(() => {
      n++;
      return { status: 429, headers: { 'retry-after': '60' } };
    });
    await expect(drive(clock, tooLong)).resolves.toMatchObject({ status: 429 });
    expect(n).toBe(1);
  });

  it('stops when the next attempt could not start before the deadline', async () => {
    const clock = new ManualClock();
    const r = retry({ maxRetries: 10, backoff: constant(40), clock });
    let n = 0;
    const p = withDeadline(
      100,
      () =>
        r.execute(() => {
          n++;
          throw new Error('down');
        }),
      { clock },
    );
    await expect(drive(clock, p)).rejects.toThrow('down');
    // attempts at 0, 40, 80; a fourth would start at 120 > 100
    expect(n).toBe(3);
  });

  it('wakes from backoff at once when the caller aborts', async () => {
    const clock = new ManualClock();
    const r = retry({ maxRetries: 3, backoff: 10_000, clock });
    const ac = new AbortController();
    const p = r.execute(
      () => {
        throw new Error('down');
      },
      { signal: ac.signal },
    );
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(5);
    ac.abort(new Error('user cancelled'));
    expect(await outcome).toMatchObject({ code: 'FL_ABORTED' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('a budget caps retries across calls and publishes when exhausted', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0, windowMs: 1000, clock });
    const r = retry({ maxRetries: 3, backoff: 0, budget, clock });
    const exhausted = collect('faultline:resilience:budget-exhausted');
    try {
      let attempts = 0;
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        calls.push(
          r
            .execute(() => {
              attempts++;
              throw new Error('down');
            })
            .catch(() => {}),
        );
      }
      await Promise.all(calls);
      // 100 calls, at most 10 % retried once each budget allows
      expect(attempts).toBeLessThanOrEqual(110);
      expect(attempts).toBeGreaterThanOrEqual(100);
      expect(exhausted.events.length).toBeGreaterThan(0);
    } finally {
      exhausted.stop();
    }
  });

  it('publishes each retry with the attempt and delay', async () => {
    const clock = new ManualClock();
    const events = collect('faultline:resilience:retry');
    try {
      const r = retry({ maxRetries: 1, backoff: 7, clock, name: 'api' });
      await drive(
        clock,
        r.execute(({ attempt }) => {
          if (attempt === 1) throw new Error('x');
          return 1;
        }),
      );
    } finally {
      events.stop();
    }
    expect(events.events).toEqual([
      expect.objectContaining({ policy: 'retry', name: 'api', attempt: 2, delayMs: 7 }),
    ]);
  });

  it('rejects bad options', () => {
    expect(() => retry({ maxRetries: -1 })).toThrow(/option "maxRetries"/);
    expect(() => retry({ maxRetries: 1.5 })).toThrow(/integer/);
    expect(() => retry({ backoff: -5 })).toThrow(/option "backoff"/);
  });
});
