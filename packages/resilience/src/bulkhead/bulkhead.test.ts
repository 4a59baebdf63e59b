import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { isFaultlineError } from '../core/errors.js';
import { wrap } from '../core/pipeline.js';
import { withDeadline } from '../deadline/deadline.js';
import { rateLimiter } from '../limit/rate-limiter.js';
import { retry } from '../retry/retry.js';
import { timeout } from '../timeout/timeout.js';
import { bulkhead } from './bulkhead.js';

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

/** Work that runs until the test finishes it, and rejects with the signal's reason when aborted. */
class Job {
  started = false;
  finish: (v: string) => void = () => {};
  fail: (e: unknown) => void = () => {};
  readonly run = ({ signal }: { signal: AbortSignal }): Promise<string> => {
    this.started = true;
    return new Promise<string>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  };
}

/** Settles `p` into a value or the error, so that a rejection is never unhandled. */
function outcome<T>(p: Promise<T>): Promise<T | unknown> {
  return p.then(
    (v) => v,
    (e: unknown) => e,
  );
}

describe('bulkhead', () => {
  it('runs up to maxConcurrent calls and rejects the next with FL_BULKHEAD_FULL', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 2, name: 'db', clock });
    const [j1, j2] = [new Job(), new Job()];
    const p1 = b.execute(j1.run);
    const p2 = b.execute(j2.run);
    expect(b.active).toBe(2);
    expect(b.available).toBe(0);
    const err = await outcome(b.execute(() => 'never'));
    expect(isFaultlineError(err)).toBe(true);
    expect(err).toMatchObject({
      code: 'FL_BULKHEAD_FULL',
      policy: 'bulkhead:db',
      retryable: false,
      details: { active: 2, queued: 0, maxConcurrent: 2, maxQueued: 0 },
    });
    j1.finish('a');
    await expect(p1).resolves.toBe('a');
    expect(b.active).toBe(1);
    await expect(b.execute(() => 'c')).resolves.toBe('c');
    j2.finish('b');
    await expect(p2).resolves.toBe('b');
    expect(b.active).toBe(0);
    expect(b.available).toBe(2);
  });

  it('queues up to maxQueued calls in FIFO order and hands each freed slot to the next', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueued: 2, clock });
    const order: string[] = [];
    const first = new Job();
    const p0 = b.execute(first.run);
    const p1 = b.execute(() => order.push('second'));
    const p2 = b.execute(() => order.push('third'));
    expect(b.queued).toBe(2);
    await expect(b.execute(() => 0)).rejects.toMatchObject({
      code: 'FL_BULKHEAD_FULL',
      details: { active: 1, queued: 2 },
    });
    await clock.advance(0);
    expect(order).toEqual([]);
    first.finish('first');
    await Promise.all([p0, p1, p2]);
    expect(order).toEqual(['second', 'third']);
    expect(b.active).toBe(0);
    expect(b.queued).toBe(0);
  });

  it('releases the slot whatever the outcome: throw, sync throw, rejection, timeout', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, clock });
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(b.active).toBe(0);
    await expect(b.execute(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    expect(b.active).toBe(0);
    const guarded = wrap(b, timeout(50, { clock, resolution: 1 }));
    const job = new Job();
    const p = outcome(guarded.execute(job.run));
    await clock.advance(60);
    expect(await p).toMatchObject({ code: 'FL_TIMEOUT' });
    expect(b.active).toBe(0);
  });

  it('fails a waiter with FL_BULKHEAD_TIMEOUT after acquireTimeoutMs, and it leaves the queue', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueued: 5, acquireTimeoutMs: 100, clock });
    const running = new Job();
    void b.execute(running.run);
    let ran = false;
    const waiting = outcome(b.execute(() => (ran = true)));
    await clock.advance(99);
    expect(b.queued).toBe(1);
    await clock.advance(1);
    expect(b.queued).toBe(0);
    expect(await waiting).toMatchObject({
      code: 'FL_BULKHEAD_TIMEOUT',
      retryable: false,
      details: { acquireTimeoutMs: 100, waitedMs: 100, active: 1, queued: 0 },
    });
    running.finish('done');
    await clock.advance(0);
    expect(ran).toBe(false);
    expect(b.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a waiter whose caller aborts leaves the queue at once and never runs', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueued: 3, acquireTimeoutMs: 1000, clock });
    const running = new Job();
    void b.execute(running.run);
    const ac = new AbortController();
    let ran = false;
    const aborted = outcome(b.execute(() => (ran = true), { signal: ac.signal }));
    const after = new Job();
    const p3 = b.execute(after.run);
    expect(b.queued).toBe(2);
    ac.abort(new Error('client went away'));
    expect(b.queued).toBe(1); // synchronously
    const err = await aborted;
    expect(err).toMatchObject({ code: 'FL_ABORTED', policy: 'bulkhead' });
    expect((err as Error).cause).toEqual(new Error('client went away'));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0 + 1); // only the waiter behind it still has a timer
    running.finish('x');
    await clock.advance(0);
    expect(ran).toBe(false);
    expect(after.started).toBe(true);
    after.finish('y');
    await expect(p3).resolves.toBe('y');
    expect(b.active).toBe(0);
  });

  it('rejects at once a call whose signal is already aborted when it would queue', async () => {
    const b = bulkhead({ maxConcurrent: 1, maxQueued: 1, clock: new ManualClock() });
    const running = new Job();
    void b.execute(running.run);
    const err = await outcome(b.execute(() => 1, { signal: AbortSignal.abort('gone') }));
    expect(err).toMatchObject({ code: 'FL_ABORTED' });
    expect(b.queued).toBe(0);
  });

  it('an outer timeout aborts a queued call: it leaves the queue with FL_TIMEOUT', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueued: 1, clock });
    const running = new Job();
    void b.execute(running.run);
    const outer = wrap(timeout(30, { clock, resolution: 1 }), b);
    let ran = false;
    const p = outcome(outer.execute(() => (ran = true)));
    await clock.advance(29);
    expect(b.queued).toBe(1);
    await clock.advance(2);
    expect(b.queued).toBe(0);
    expect(await p).toMatchObject({ code: 'FL_TIMEOUT' });
    running.finish('x');
    await clock.advance(0);
    expect(ran).toBe(false);
    expect(b.active).toBe(0);
  });

  it('never queues past the deadline', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueued: 2, acquireTimeoutMs: 1000, clock });
    const running = new Job();
    void b.execute(running.run);
    const p = outcome(withDeadline(40, () => b.execute(() => 'late'), { clock }));
    await clock.advance(39);
    expect(b.queued).toBe(1);
    await clock.advance(1);
    expect(await p).toMatchObject({ code: 'FL_DEADLINE_EXCEEDED', policy: 'bulkhead' });
    expect(b.queued).toBe(0);
    // with no time left it does not queue at all
    const none = withDeadline(0, () => b.execute(() => 'late'), { clock });
    await expect(none).rejects.toMatchObject({ code: 'FL_DEADLINE_EXCEEDED' });
    expect(b.queued).toBe(0);
    // a deadline with a free slot is no reason to refuse
    running.finish('ok');
    await clock.advance(0);
    await expect(withDeadline(10, () => b.execute(() => 'now'), { clock })).resolves.toBe('now');
  });

  it('publishes every rejection on the reject channel', async () => {
    const { events, stop } = collect('faultline:resilience:reject');
    try {
      const clock = new ManualClock();
      const b = bulkhead({ maxConcurrent: 1, maxQueued: 1, acquireTimeoutMs: 10, name: 'api', clock });
      const running = new Job();
      void b.execute(running.run);
      const queued = outcome(b.execute(() => 1));
      await outcome(b.execute(() => 2));
      await clock.advance(10);
      await queued;
      expect(events).toEqual([
        {
          policy: 'bulkhead',
          name: 'api',
          code: 'FL_BULKHEAD_FULL',
          reason: 'full',
          details: { active: 1, queued: 1, maxConcurrent: 1, maxQueued: 1 },
        },
        {
          policy: 'bulkhead',
          name: 'api',
          code: 'FL_BULKHEAD_TIMEOUT',
          reason: 'acquire-timeout',
          details: {
            active: 1,
            queued: 0,
            maxConcurrent: 1,
            maxQueued: 1,
            acquireTimeoutMs: 10,
            waitedMs: 10,
          },
        },
      ]);
    } finally {
      stop();
    }
  });

  it('a retry outside does not retry a full bulkhead (not retryable), but keeps per-attempt slots', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, clock });
    const running = new Job();
    void b.execute(running.run);
    const policy = wrap(retry({ maxRetries: 3, backoff: 0, clock }), b);
    let attempts = 0;
    await expect(policy.execute(() => ++attempts)).rejects.toMatchObject({ code: 'FL_BULKHEAD_FULL' });
    expect(attempts).toBe(0);
    running.finish('x');
    await clock.advance(0);
    let n = 0;
    await expect(
      policy.execute(() => {
        if (++n < 3) throw new Error('flaky');
        return n;
      }),
    ).resolves.toBe(3);
    expect(b.active).toBe(0);
  });

  it('composes with other gates that wait or reject: the slot is released either way', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueued: 2, clock });
    const limited = wrap(b, rateLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 100, clock }));
    const first = new Job();
    const p1 = limited.execute(first.run);
    // queued in the bulkhead, then waits for a token: two waits in one fused segment
    const p2 = limited.execute(() => 'second');
    expect(b.queued).toBe(1);
    first.finish('first');
    await expect(p1).resolves.toBe('first');
    expect(b.active).toBe(1); // the slot went to the second call, now waiting for its token
    await clock.advance(100);
    await expect(p2).resolves.toBe('second');
    expect(b.active).toBe(0);
    // a token refused after the slot was taken gives the slot back
    const strict = wrap(b, rateLimiter({ ratePerSecond: 1, burst: 1, clock }));
    await strict.execute(() => 1);
    await expect(strict.execute(() => 2)).rejects.toMatchObject({ code: 'FL_RATE_LIMITED' });
    expect(b.active).toBe(0);
  });

  it('validates its options', () => {
    expect(() => bulkhead({ maxConcurrent: 0 })).toThrow(/maxConcurrent/);
    expect(() => bulkhead({ maxConcurrent: 1.5 })).toThrow(/maxConcurrent/);
    expect(() => bulkhead({ maxConcurrent: 1, maxQueued: -1 })).toThrow(/maxQueued/);
    expect(() => bulkhead({ maxConcurrent: 1, acquireTimeoutMs: Number.NaN })).toThrow(/acquireTimeoutMs/);
    try {
      bulkhead({ maxConcurrent: -1 });
    } catch (e) {
      expect(e).toMatchObject({ code: 'FL_INVALID_OPTION', details: { option: 'maxConcurrent' } });
    }
  });
});
