import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { faultBehavior } from './fault-behavior.js';
import { faultError } from './fault-error.js';
import { faultLatency } from './fault-latency.js';
import { faultResult } from './fault-result.js';

describe('faultLatency (fake time)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delays the work by ms', async () => {
    const f = faultLatency({ ms: 500, rate: 1 });
    let ran = false;
    const p = f.execute(() => {
      ran = true;
      return 42;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(ran).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).resolves.toBe(42);
    expect(ran).toBe(true);
  });

  it('takes the delay from a function of the context', async () => {
    const f = faultLatency({ ms: (ctx) => ctx.attempt * 100, rate: 1 });
    const p = f.execute(() => 'ok');
    await vi.advanceTimersByTimeAsync(100);
    await expect(p).resolves.toBe('ok');
  });

  it('stops waiting when the signal aborts, and the work does not run', async () => {
    const f = faultLatency({ ms: 10_000, rate: 1 });
    const ac = new AbortController();
    const work = vi.fn(() => 1);
    const p = f.execute(work, { signal: ac.signal });
    await vi.advanceTimersByTimeAsync(50);
    ac.abort(new Error('user left'));
    await expect(p).rejects.toMatchObject({ code: 'FL_ABORTED' });
    expect(work).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('injects at the given rate using the injected random', async () => {
    const rolls = [0.05, 0.5, 0.09, 0.99];
    const f = faultLatency({ ms: 1000, rate: 0.1, random: () => rolls.shift() ?? 1 });
    const delayed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const p = f.execute(() => 'x');
      let settled = false;
      void p.then(() => {
        settled = true;
      });
      await vi.advanceTimersByTimeAsync(0);
      delayed.push(!settled);
      await vi.advanceTimersByTimeAsync(1000);
      await p;
    }
    expect(delayed).toEqual([true, false, true, false]);
  });

  it('rate 0 never injects and never asks the random source', async () => {
    const random = vi.fn(() => 0);
    const f = faultLatency({ ms: 1000, rate: 0, random });
    await expect(f.execute(() => 7)).resolves.toBe(7);
    expect(random).not.toHaveBeenCalled();
  });

  it('is switched at runtime with enable()/disable() and an enabled function', async () => {
    let flag = false;
    const f = faultError({ error: new Error('boom'), rate: 1, enabled: () => flag });
    await expect(f.execute(() => 1)).resolves.toBe(1);
    flag = true;
    await expect(f.execute(() => 1)).rejects.toThrow('boom');
    f.disable();
    expect(f.enabled).toBe(false);
    await expect(f.execute(() => 1)).resolves.toBe(1);
    f.enable();
    await expect(f.execute(() => 1)).rejects.toThrow('boom');
    const g = faultLatency({ ms: 100, rate: 1, enabled: false });
    await expect(g.execute(() => 2)).resolves.toBe(2);
  });
});

describe('faultError / faultResult / faultBehavior', () => {
  it('throws the error, or one made per call, without running the work', async () => {
    const work = vi.fn(() => 1);
    await expect(faultError({ error: new Error('static'), rate: 1 }).execute(work)).rejects.toThrow('static');
    await expect(
      faultError({ error: (ctx) => new Error(`attempt ${ctx.attempt}`), rate: 1 }).execute(work),
    ).rejects.toThrow('attempt 1');
    expect(work).not.toHaveBeenCalled();
  });

  it('returns the chosen result instead of the work', async () => {
    const work = vi.fn(() => 'real');
    const r: string | { status: number } = await faultResult({ value: { status: 503 }, rate: 1 }).execute(
      work,
    );
    expect(r).toEqual({ status: 503 });
    await expect(faultResult({ fn: async () => 'made', rate: 1 }).execute(work)).resolves.toBe('made');
    expect(work).not.toHaveBeenCalled();
  });

  it('runs a behaviour before the work', async () => {
    const order: string[] = [];
    const f = faultBehavior({
      run: async () => {
        order.push('behaviour');
      },
      rate: 1,
    });
    await f.execute(() => order.push('work'));
    expect(order).toEqual(['behaviour', 'work']);
    const failing = faultBehavior({
      run: () => {
        throw new Error('behaviour failed');
      },
      rate: 1,
    });
    await expect(failing.execute(() => 1)).rejects.toThrow('behaviour failed');
  });

  it('validates the rate and the delay', () => {
    expect(() => faultError({ error: new Error('x'), rate: 2 })).toThrow(/rate/);
    expect(() => faultLatency({ ms: -1, rate: 1 })).toThrow(/"ms"/);
    expect(() => faultLatency({ ms: 1, rate: Number.NaN })).toThrow(/rate/);
  });

  it('publishes faultline:chaos:fault events only to subscribers', async () => {
    const seen: unknown[] = [];
    const onMessage = (m: unknown) => seen.push(m);
    subscribe('faultline:chaos:fault', onMessage);
    try {
      await faultResult({ value: 1, rate: 1, name: 'stale' }).execute(() => 0);
      await expect(faultError({ error: new Error('e'), rate: 1 }).execute(() => 0)).rejects.toThrow();
      await faultLatency({ ms: 0, rate: 1 }).execute(() => 0);
    } finally {
      unsubscribe('faultline:chaos:fault', onMessage);
    }
    expect(seen).toMatchObject([
      { fault: 'result', name: 'stale', value: 1, attempt: 1 },
      { fault: 'error' },
      { fault: 'latency', delayMs: 0 },
    ]);
  });
});
