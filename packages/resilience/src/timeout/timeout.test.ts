import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { isFaultlineError } from '../core/errors.js';
import { wrap } from '../core/pipeline.js';
import { withDeadline } from '../deadline/deadline.js';
import { retry } from '../retry/retry.js';
import { timeout } from './timeout.js';

/** Work that never settles on its own and rejects with the signal's reason when aborted. */
function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

describe('timeout', () => {
  it('returns the result when the work finishes in time', async () => {
    const clock = new ManualClock();
    const t = timeout(100, { clock });
    await expect(t.execute(() => 42)).resolves.toBe(42);
    await expect(t.execute(async () => 'x')).resolves.toBe('x');
  });

  it('aborts the work through its signal and fails with FL_TIMEOUT, never early', async () => {
    const clock = new ManualClock();
    const t = timeout(100, { clock, resolution: 5 });
    let seen: AbortSignal | undefined;
    const p = t.execute(({ signal }) => {
      seen = signal;
      return hang(signal);
    });
    const outcome = p.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await clock.advance(99);
    expect(seen?.aborted).toBe(false);
    await clock.advance(6);
    expect(seen?.aborted).toBe(true);
    const err = await outcome;
    expect(isFaultlineError(err) && err.code).toBe('FL_TIMEOUT');
    expect(isFaultlineError(err) && err.details).toEqual({ timeoutMs: 100 });
    expect(isFaultlineError(err) && err.retryable).toBe(true);
  });

  it('fires to the timer precision with resolution 0', async () => {
    const clock = new ManualClock();
    const t = timeout(100, { clock, resolution: 0 });
    let signal: AbortSignal | undefined;
    const p = t.execute((ctx) => {
      signal = ctx.signal;
      return hang(ctx.signal);
    });
    p.catch(() => {});
    await clock.advance(99.9);
    expect(signal?.aborted).toBe(false);
    await clock.advance(0.1);
    expect(signal?.aborted).toBe(true);
    await expect(p).rejects.toMatchObject({ code: 'FL_TIMEOUT' });
  });

  it('a late result after the timeout still counts as a timeout (cooperative)', async () => {
    const clock = new ManualClock();
    const t = timeout(10, { clock, resolution: 1 });
    let finish: (v: string) => void = () => {};
    const p = t.execute(() => new Promise<string>((r) => (finish = r)));
    p.catch(() => {});
    await clock.advance(20);
    finish('late');
    await expect(p).rejects.toMatchObject({ code: 'FL_TIMEOUT' });
  });

  it('keeps the work error as the cause when the work rejects with its own error after the abort', async () => {
    const clock = new ManualClock();
    const t = timeout(10, { clock, resolution: 1 });
    const p = t.execute(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('socket closed'))),
        ),
    );
    p.catch(() => {});
    await clock.advance(20);
    const err = await p.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FL_TIMEOUT' });
    expect((err as Error).cause).toMatchObject({ message: 'socket closed' });
  });

  it('distinguishes the caller abort from a timeout, keeping the reason', async () => {
    const clock = new ManualClock();
    const t = timeout(1000, { clock });
    const ac = new AbortController();
    const p = t.execute(({ signal }) => hang(signal), { signal: ac.signal });
    const reason = new Error('client went away');
    ac.abort(reason);
    const err = await p.catch((e: unknown) => e);
    // the work rejected with the caller's reason, untouched: not a timeout
    expect(err).toBe(reason);
    expect(isFaultlineError(err)).toBe(false);
  });

  it('does not start work when the caller already aborted', async () => {
    const t = timeout(1000);
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    let ran = false;
    const err = await t
      .execute(
        () => {
          ran = true;
        },
        { signal: ac.signal },
      )
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toMatchObject({ code: 'FL_ABORTED' });
    expect((err as Error).cause).toMatchObject({ message: 'gone' });
  });

  it('aggressive strategy stops waiting even if the work ignores its signal', async () => {
    const clock = new ManualClock();
    const t = timeout(50, { clock, strategy: 'aggressive', resolution: 1 });
    let aborted = false;
    const p = t.execute(({ signal }) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      return new Promise(() => {});
    });
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(52);
    expect(await outcome).toMatchObject({ code: 'FL_TIMEOUT' });
    expect(aborted).toBe(true);
  });

  it('shares one timer between concurrent calls and leaves none armed after they settle', async () => {
    const clock = new ManualClock();
    const t = timeout(100, { clock, resolution: 10 });
    const calls = Array.from({ length: 50 }, (_, i) => t.execute(async () => i));
    expect(clock.pendingTimers).toBe(1);
    expect(t._pending).toBe(50);
    await Promise.all(calls);
    expect(t._pending).toBe(0);
    await clock.advance(10);
    expect(clock.pendingTimers).toBe(0);
  });

  it('expires calls in order and keeps ticking only while calls are pending', async () => {
    const clock = new ManualClock();
    const t = timeout(30, { clock, resolution: 10 });
    const results: string[] = [];
    const start = (name: string) =>
      t.execute(({ signal }) => hang(signal)).catch(() => results.push(`${name}@${clock.now()}`));
    const a = start('a');
    await clock.advance(15);
    const b = start('b');
    await clock.advance(100);
    await Promise.all([a, b]);
    expect(results).toEqual(['a@40', 'b@50']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('uses the time left before a deadline when it is shorter', async () => {
    const clock = new ManualClock();
    const t = timeout(1000, { clock });
    const p = withDeadline(100, () => t.execute(({ signal }) => hang(signal)), { clock });
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(100);
    expect(await outcome).toMatchObject({ code: 'FL_TIMEOUT', details: { timeoutMs: 100 } });
  });

  it('does not start work once the deadline has passed', async () => {
    const clock = new ManualClock();
    const t = timeout(1000, { clock });
    let ran = false;
    const p = withDeadline(
      10,
      async () => {
        await clock.advance(20);
        return t.execute(() => {
          ran = true;
        });
      },
      { clock },
    );
    await expect(p).rejects.toMatchObject({ code: 'FL_DEADLINE_EXCEEDED' });
    expect(ran).toBe(false);
  });

  it('publishes a timeout event with the policy name', async () => {
    const clock = new ManualClock();
    const t = timeout(20, { clock, name: 'db', resolution: 1 });
    const seen: unknown[] = [];
    const listener = (m: unknown) => seen.push(m);
    subscribe('faultline:resilience:timeout', listener);
    try {
      const p = t.execute(({ signal }) => hang(signal)).catch(() => {});
      await clock.advance(25);
      await p;
    } finally {
      unsubscribe('faultline:resilience:timeout', listener);
    }
    expect(seen).toEqual([expect.objectContaining({ policy: 'timeout', name: 'db', timeoutMs: 20 })]);
  });

  it('times out each attempt separately inside a retry, with a fresh signal per attempt', async () => {
    const clock = new ManualClock();
    const policy = wrap(retry({ maxRetries: 2, backoff: 0, clock }), timeout(10, { clock, resolution: 1 }));
    const signals: AbortSignal[] = [];
    const p = policy.execute(({ signal, attempt }) => {
      signals.push(signal);
      return attempt < 3 ? hang(signal) : 'third time';
    });
    for (let i = 0; i < 5; i++) await clock.advance(11);
    await expect(p).resolves.toBe('third time');
    expect(signals.map((s) => s.aborted)).toEqual([true, true, false]);
  });

  it('an overall timeout outside a retry aborts the attempt in flight and stops retrying', async () => {
    const clock = new ManualClock();
    const policy = wrap(timeout(25, { clock, resolution: 1 }), retry({ maxRetries: 10, backoff: 5, clock }));
    let attempts = 0;
    const p = policy.execute(async ({ signal }) => {
      attempts++;
      if (attempts < 3) throw new Error('flaky');
      return hang(signal);
    });
    const outcome = p.catch((e: unknown) => e);
    for (let i = 0; i < 10; i++) await clock.advance(5);
    expect(await outcome).toMatchObject({ code: 'FL_TIMEOUT' });
    expect(attempts).toBe(3);
  });

  it('rejects bad options with FL_INVALID_OPTION naming the option', () => {
    expect(() => timeout(-1)).toThrow(expect.objectContaining({ code: 'FL_INVALID_OPTION' }));
    expect(() => timeout(Number.NaN)).toThrow(/option "ms"/);
    // @ts-expect-error an unknown strategy
    expect(() => timeout(10, { strategy: 'eager' })).toThrow(/option "strategy"/);
  });
});
