import { describe, expect, it } from 'vitest';
import { retry } from '../retry/retry.js';
import { timeout } from '../timeout/timeout.js';
import { ManualClock } from './clock.js';
import { FaultlineError, isFaultlineError } from './errors.js';
import { wrap } from './pipeline.js';
import { Scope } from './scope.js';

describe('pipeline', () => {
  it('runs sync and async work, values and throws alike', async () => {
    const p = wrap(retry({ maxRetries: 0 }), timeout(1000));
    await expect(p.execute(() => 1)).resolves.toBe(1);
    await expect(p.execute(async () => 2)).resolves.toBe(2);
    await expect(
      p.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(p.execute(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    // a thenable that is not a native promise
    // biome-ignore lint/suspicious/noThenProperty: a non-native thenable is exactly what is tested
    const thenable = { then: (r: (v: number) => void) => r(3) } as unknown as PromiseLike<number>;
    await expect(p.execute(() => thenable)).resolves.toBe(3);
  });

  it('an empty pipeline just runs the work', async () => {
    await expect(wrap().execute(() => 'plain')).resolves.toBe('plain');
  });

  it('passes a lazily created signal that is never aborted on success', async () => {
    const p = wrap(timeout(1000));
    const signal = await p.execute(({ signal }) => signal);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal.aborted).toBe(false);
  });

  it('hands the caller signal itself to work run without cancelling policies', async () => {
    const ac = new AbortController();
    const seen = await wrap(retry()).execute(({ signal }) => signal, { signal: ac.signal });
    expect(seen).toBe(ac.signal);
  });

  it('propagates the caller abort into a timeout scope the work listens to', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = wrap(timeout(10_000, { clock })).execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      { signal: ac.signal },
    );
    ac.abort('stop');
    await expect(p).rejects.toBe('stop');
  });

  it('releases its listener on the caller signal once the call settles', async () => {
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => {
      added++;
      add(...args);
    };
    ac.signal.removeEventListener = (...args: Parameters<AbortSignal['removeEventListener']>) => {
      removed++;
      remove(...args);
    };
    await wrap(timeout(1000)).execute(({ signal }) => signal.aborted, { signal: ac.signal });
    expect(added).toBe(1);
    expect(removed).toBe(1);
  });
});

describe('Scope', () => {
  it('aborts linked descendants and lets late readers see the abort', () => {
    const root = new Scope(null);
    const child = new Scope(root);
    const grandchild = new Scope(child);
    const early = grandchild.signal;
    root.abort(new Error('r'));
    expect(early.aborted).toBe(true);
    const late = new Scope(child);
    expect(late.aborted).toBe(true);
    expect(late.signal.aborted).toBe(true);
    expect((late.signal.reason as Error).message).toBe('r');
  });

  it('the first reason wins and disposed children are no longer reached', () => {
    const root = new Scope(null);
    const a = new Scope(root);
    const b = new Scope(root);
    const sa = a.signal;
    const sb = b.signal;
    a.dispose();
    root.abort('first');
    root.abort('second');
    expect(sa.aborted).toBe(false);
    expect(sb.reason).toBe('first');
  });
});

describe('errors', () => {
  it('recognises faultline errors by brand, also from another copy of the package', () => {
    const e = new FaultlineError('FL_TIMEOUT', 'x', { policy: 'timeout', retryable: true });
    expect(isFaultlineError(e)).toBe(true);
    const foreign = Object.assign(new Error('y'), {
      code: 'FL_TIMEOUT',
      [Symbol.for('faultline.error')]: true,
    });
    expect(isFaultlineError(foreign)).toBe(true);
    expect(isFaultlineError(Object.assign(new Error('z'), { code: 'FL_TIMEOUT' }))).toBe(false);
    expect(isFaultlineError(null)).toBe(false);
    expect(isFaultlineError('FL_TIMEOUT')).toBe(false);
  });
});

describe('ManualClock', () => {
  it('runs timers in time order, then insertion order, and supports cancellation', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    clock.setTimeout(() => order.push('b'), 20);
    clock.setTimeout(() => order.push('a'), 10);
    clock.setTimeout(() => order.push('a2'), 10);
    const c = clock.setTimeout(() => order.push('cancelled'), 15);
    clock.clearTimeout(c);
    await clock.advance(25);
    expect(order).toEqual(['a', 'a2', 'b']);
    expect(clock.now()).toBe(25);
    expect(await clock.next()).toBe(false);
  });
});
