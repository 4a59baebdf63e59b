// Composition by shape: the chaos source never imports @faultline/resilience; this test does.
import { fallback, isFaultlineError, ManualClock, retry, timeout, wrap } from '@faultline/resilience';
import { describe, expect, it } from 'vitest';
import { faultBehavior } from './fault-behavior.js';
import { faultError } from './fault-error.js';
import { faultLatency } from './fault-latency.js';
import { faultResult } from './fault-result.js';

describe('in-process faults inside @faultline/resilience pipelines', () => {
  it('retry retries the injected error', async () => {
    let injections = 0;
    const fault = faultError({
      error: () => {
        injections++;
        return new Error('injected');
      },
      rate: 1,
      enabled: () => injections < 2,
    });
    const attempts: number[] = [];
    const policy = wrap(retry({ maxRetries: 3, backoff: 0 }), fault);
    const r = await policy.execute(({ attempt }) => {
      attempts.push(attempt);
      return 'ok';
    });
    expect(r).toBe('ok');
    expect(injections).toBe(2);
    expect(attempts).toEqual([3]);
  });

  it('retry gives up after maxRetries when every attempt is injected', async () => {
    const policy = wrap(
      retry({ maxRetries: 2, backoff: 0 }),
      faultError({ error: new Error('always'), rate: 1 }),
    );
    await expect(policy.execute(() => 'never')).rejects.toThrow('always');
  });

  it('a timeout outside aborts the injected latency with its own error', async () => {
    const clock = new ManualClock();
    const policy = wrap(timeout(100, { clock, resolution: 0 }), faultLatency({ ms: 10_000, rate: 1, clock }));
    let ran = false;
    const p = policy.execute(() => {
      ran = true;
    });
    const settled = p.then(
      () => 'resolved',
      (e: unknown) => (isFaultlineError(e) ? e.code : 'other'),
    );
    await clock.advance(100);
    await expect(settled).resolves.toBe('FL_TIMEOUT');
    expect(ran).toBe(false);
  });

  it('a fallback outside replaces the injected error; a result fault joins the result type', async () => {
    const withFallback = wrap(fallback('cached'), faultError({ error: new Error('down'), rate: 1 }));
    await expect(withFallback.execute(() => 'live')).resolves.toBe('cached');

    const withResult = wrap(retry({ maxRetries: 0 }), faultResult({ value: 503 as const, rate: 1 }));
    const r: string | 503 = await withResult.execute(() => 'live');
    expect(r).toBe(503);
  });

  it('the caller signal reaches the injected latency through the pipeline', async () => {
    const policy = wrap(retry({ maxRetries: 0 }), faultLatency({ ms: 60_000, rate: 1 }));
    const ac = new AbortController();
    const p = policy.execute(() => 1, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('bye')), 5);
    await expect(p).rejects.toMatchObject({ code: 'FL_ABORTED' });
  });

  it('a behaviour runs once per attempt inside a retry', async () => {
    let behaviours = 0;
    let calls = 0;
    const policy = wrap(
      retry({ maxRetries: 2, backoff: 0 }),
      faultBehavior({
        run: () => {
          behaviours++;
        },
        rate: 1,
      }),
    );
    await policy.execute(() => {
      calls++;
      if (calls < 3) throw new Error('flaky');
      return 'done';
    });
    expect(behaviours).toBe(3);
  });
});
