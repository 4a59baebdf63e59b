import { describe, expect, it } from 'vitest';
import { circuitBreaker } from '../breaker/circuit-breaker.js';
import { ManualClock } from './clock.js';

describe('the lite path of a lone observe-only gate', () => {
  it('returns the work’s own promise and still counts every outcome', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 2 }, clock });
    const work = Promise.resolve('v');
    expect(breaker.execute(() => work)).toBe(work);
    await expect(breaker.execute(() => Promise.reject(new Error('a')))).rejects.toThrow('a');
    await expect(
      breaker.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await Promise.resolve();
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(() => 1)).rejects.toMatchObject({ code: 'FL_CIRCUIT_OPEN' });
  });

  it('a success between failures resets the consecutive count', async () => {
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 2 } });
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    await breaker.execute(() => 'ok');
    await breaker.execute(() => Promise.reject(new Error('y'))).catch(() => {});
    await Promise.resolve();
    expect(breaker.state).toBe('closed');
  });

  it('hands the work a context with a stable, never-aborted signal and attempt 1', async () => {
    const breaker = circuitBreaker();
    const [a, b, attempt] = await breaker.execute(
      ({ signal, attempt }) => [signal, signal, attempt] as const,
    );
    expect(a).toBeInstanceOf(AbortSignal);
    expect(a).toBe(b);
    expect(a.aborted).toBe(false);
    expect(attempt).toBe(1);
  });

  it('outcomes of a closed period that ended do not count in the next one', async () => {
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 } });
    let fail: (e: Error) => void = () => {};
    const slow = breaker.execute(() => new Promise((_, reject) => (fail = reject)));
    breaker.reset();
    fail(new Error('late'));
    await slow.catch(() => {});
    expect(breaker.state).toBe('closed');
  });
});
