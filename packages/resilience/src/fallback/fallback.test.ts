import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { FaultlineError } from '../core/errors.js';
import { wrap } from '../core/pipeline.js';
import type { ExecuteContext } from '../core/scope.js';
import { retry } from '../retry/retry.js';
import { timeout } from '../timeout/timeout.js';
import { fallback } from './fallback.js';

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

const boom = () => {
  throw new Error('boom');
};

describe('fallback', () => {
  it('passes results through and replaces failures with a fixed value', async () => {
    const f = fallback('n/a');
    await expect(f.execute(() => 'real')).resolves.toBe('real');
    await expect(f.execute(boom)).resolves.toBe('n/a');
    await expect(f.execute(async () => Promise.reject(new Error('late')))).resolves.toBe('n/a');
  });

  it('computes a substitute from the error and the call context, sync or async', async () => {
    let seen: ExecuteContext | undefined;
    const f = fallback({
      fn: async (error, ctx) => {
        seen = ctx;
        return `recovered from ${(error as Error).message}`;
      },
    });
    await expect(f.execute(boom)).resolves.toBe('recovered from boom');
    expect(seen?.signal.aborted).toBe(false);
    const failing = fallback({
      fn: () => {
        throw new Error('fallback failed too');
      },
    });
    await expect(failing.execute(boom)).rejects.toThrow('fallback failed too');
  });

  it('handles decides which errors are replaced', async () => {
    const f = fallback(0, { handles: (e) => e instanceof FaultlineError && e.code === 'FL_TIMEOUT' });
    await expect(f.execute(boom)).rejects.toThrow('boom');
    await expect(
      f.execute(() => {
        throw new FaultlineError('FL_TIMEOUT', 'slow');
      }),
    ).resolves.toBe(0);
  });

  it('never replaces the caller’s own abort', async () => {
    const f = fallback('n/a');
    const ac = new AbortController();
    ac.abort(new Error('user left'));
    // the work never started: FL_ABORTED
    await expect(f.execute(() => 1, { signal: ac.signal })).rejects.toMatchObject({ code: 'FL_ABORTED' });
    // the work saw the abort and rejected with its own error: still not replaced
    const ac2 = new AbortController();
    const p = f.execute(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('socket closed'))),
        ),
      { signal: ac2.signal },
    );
    ac2.abort(new Error('user left'));
    await expect(p).rejects.toThrow('socket closed');
  });

  it('replaces a timeout from an inner policy, after retries', async () => {
    const clock = new ManualClock();
    const policy = wrap(
      fallback('cached'),
      retry({ maxRetries: 1, backoff: 10, clock }),
      timeout(50, { clock, resolution: 0 }),
    );
    let attempts = 0;
    const p = policy.execute(({ signal }) => {
      attempts++;
      return new Promise<number>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    });
    await clock.advance(50);
    await clock.advance(10);
    await clock.advance(50);
    await expect(p).resolves.toBe('cached');
    expect(attempts).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lastGood serves the last successful result, within ttlMs, else rethrows', async () => {
    const clock = new ManualClock();
    const f = fallback({ lastGood: true, ttlMs: 1000, clock });
    await expect(f.execute(boom)).rejects.toThrow('boom');
    await expect(f.execute(() => ({ price: 10 }))).resolves.toEqual({ price: 10 });
    await clock.advance(1000);
    await expect(f.execute(boom)).resolves.toEqual({ price: 10 });
    await clock.advance(1);
    await expect(f.execute(boom)).rejects.toThrow('boom');
    f.reset();
    await expect(f.execute(boom)).rejects.toThrow('boom');
  });

  it('lastGood with fn: the last good result first, then fn', async () => {
    const f = fallback({ lastGood: true, fn: () => 'default' });
    await expect(f.execute<string>(boom)).resolves.toBe('default');
    await f.execute(() => 'fresh');
    await expect(f.execute<string>(boom)).resolves.toBe('fresh');
  });

  it('publishes each replacement with its source', async () => {
    const events = collect('faultline:resilience:fallback');
    try {
      await fallback(1, { name: 'prices' }).execute(boom);
    } finally {
      events.stop();
    }
    expect(events.events).toEqual([
      {
        policy: 'fallback',
        name: 'prices',
        error: expect.objectContaining({ message: 'boom' }),
        source: 'value',
      },
    ]);
  });

  it('treats a value with an fn function or a lastGood property as options, anything else as a value', async () => {
    await expect(fallback({ fn: 'not a function' }).execute(boom)).resolves.toEqual({ fn: 'not a function' });
    expect(() => fallback({ lastGood: false } as unknown as { lastGood: true })).toThrow(/option "lastGood"/);
    await expect(fallback(null).execute(boom)).resolves.toBeNull();
    await expect(fallback(undefined).execute(boom)).resolves.toBeUndefined();
  });

  it('rejects nonsense options', () => {
    expect(() => fallback({ lastGood: true, ttlMs: -1 })).toThrow(/option "ttlMs"/);
    // @ts-expect-error options are given once
    expect(() => fallback({ fn: () => 1 }, {})).toThrow(/option "options"/);
    expect(() => fallback(1, { handles: 'all' as unknown as () => boolean })).toThrow(/option "handles"/);
  });
});
