import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../core/clock.js';
import { FaultlineError, isFaultlineError } from '../core/errors.js';
import { wrap } from '../core/pipeline.js';
import { retry } from '../retry/retry.js';
import { timeout } from '../timeout/timeout.js';
import { type CircuitBreakerOptions, type CircuitBreakerPolicy, circuitBreaker } from './circuit-breaker.js';

function collect(name: string): { events: Record<string, unknown>[]; stop: () => void } {
  const events: Record<string, unknown>[] = [];
  const fn = (m: unknown) => events.push(m as Record<string, unknown>);
  subscribe(name, fn);
  return { events, stop: () => unsubscribe(name, fn) };
}

/** A ManualClock that counts its reads. */
class CountingClock extends ManualClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

interface Deferred {
  promise: Promise<string>;
  resolve: (v: string) => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve: (v: string) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs one call that settles at once; resolves to 'ok', 'rejected-by-work' or the breaker's error. */
async function call(b: CircuitBreakerPolicy, outcome: 'ok' | 'fail'): Promise<unknown> {
  let ran = false;
  return b
    .execute(() => {
      ran = true;
      return outcome === 'ok' ? Promise.resolve('ok') : Promise.reject(new Error('boom'));
    })
    .then(
      (v) => v,
      (e: unknown) => (ran ? 'failed' : e),
    );
}

async function failTimes(b: CircuitBreakerPolicy, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await call(b, 'fail');
}

/** Runs a call that takes `ms` on the manual clock. */
async function slowCall(
  b: CircuitBreakerPolicy,
  clock: ManualClock,
  ms: number,
  fail = false,
): Promise<unknown> {
  const d = deferred();
  const p = b
    .execute(() => d.promise)
    .then(
      (v) => v,
      (e: unknown) => e,
    );
  await clock.advance(ms);
  if (fail) d.reject(new Error('slow boom'));
  else d.resolve('ok');
  return p;
}

function codeOf(e: unknown): string | undefined {
  return isFaultlineError(e) ? e.code : undefined;
}

function make(options: CircuitBreakerOptions = {}): { b: CircuitBreakerPolicy; clock: ManualClock } {
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock();
  return { b: circuitBreaker({ clock, ...options }), clock };
}

describe('circuitBreaker: closed state', () => {
  it('hands back the work’s own promise (observe-only gate)', async () => {
    const { b } = make();
    const p = Promise.resolve(42);
    expect(b.execute(() => p)).toBe(p);
    await expect(p).resolves.toBe(42);
  });

  it('reads no clock in consecutive mode without slow-call detection', async () => {
    const clock = new CountingClock();
    const b = circuitBreaker({ clock });
    for (let i = 0; i < 10; i++) await call(b, 'ok');
    await failTimes(b, 4);
    await call(b, 'ok');
    expect(clock.reads).toBe(0);
    expect(b.state).toBe('closed');
  });

  it('consecutive (default 5): a success ends the run; the fifth failure in a row opens', async () => {
    const { b } = make();
    await failTimes(b, 4);
    expect(b.stats()).toMatchObject({ calls: 4, failures: 4, failureRate: 1 });
    await call(b, 'ok');
    expect(b.stats()).toMatchObject({ calls: 0, failures: 0 });
    await failTimes(b, 4);
    expect(b.state).toBe('closed');
    await failTimes(b, 1);
    expect(b.state).toBe('open');
    let ran = false;
    const err = await b
      .execute(() => {
        ran = true;
        return 1;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(FaultlineError);
    expect(err).toMatchObject({
      code: 'FL_CIRCUIT_OPEN',
      retryable: false,
      policy: 'circuit-breaker',
      details: { state: 'open', remainingMs: 30_000, failureRate: 1, slowCallRate: 0, calls: 5 },
    });
  });

  it('consecutive: window.failures sets the run length; the name goes into the label', async () => {
    const { b } = make({ window: { kind: 'consecutive', failures: 2 }, name: 'db' });
    await failTimes(b, 2);
    const err = await call(b, 'ok');
    expect(err).toMatchObject({ code: 'FL_CIRCUIT_OPEN', policy: 'circuit-breaker:db' });
    expect(String((err as Error).message)).toContain('circuit-breaker:db');
  });

  it('count: decides on the last `size` calls once `minCalls` is reached', async () => {
    const { b } = make({ window: { kind: 'count', size: 4, minCalls: 4 }, failureRateThreshold: 0.5 });
    await failTimes(b, 3); // 3 calls < minCalls
    expect(b.state).toBe('closed');
    await call(b, 'ok'); // 3/4 ≥ 0.5 on the minCalls-th call (a success)
    expect(b.state).toBe('open');
  });

  it('count: old outcomes leave the window', async () => {
    const { b } = make({ window: { kind: 'count', size: 4 }, failureRateThreshold: 0.75 });
    await call(b, 'fail');
    await call(b, 'fail');
    for (let i = 0; i < 4; i++) await call(b, 'ok'); // the two failures slide out
    expect(b.stats()).toMatchObject({ calls: 4, failures: 0 });
    await failTimes(b, 2);
    expect(b.state).toBe('closed'); // 2/4 < 0.75
    await failTimes(b, 1);
    expect(b.state).toBe('open'); // 3/4
  });

  it('count: minCalls defaults to size, and may be smaller', async () => {
    const a = make({ window: { kind: 'count', size: 10 } }).b;
    await failTimes(a, 9);
    expect(a.state).toBe('closed');
    await failTimes(a, 1);
    expect(a.state).toBe('open');
    const c = make({ window: { kind: 'count', size: 10, minCalls: 2 } }).b;
    await failTimes(c, 2);
    expect(c.state).toBe('open');
  });

  it('time: counts the calls of the sliding window and forgets old buckets', async () => {
    const { b, clock } = make({
      window: { kind: 'time', durationMs: 1000, buckets: 10, minCalls: 3 },
      failureRateThreshold: 0.5,
    });
    await failTimes(b, 2);
    await clock.advance(950);
    await call(b, 'ok');
    expect(b.stats()).toMatchObject({ calls: 3, failures: 2 });
    expect(b.state).toBe('open'); // 2/3
    b.reset();
    await failTimes(b, 2);
    await clock.advance(1000); // the failures are forgotten
    expect(b.stats()).toMatchObject({ calls: 0, failures: 0 });
    await call(b, 'fail');
    await call(b, 'ok');
    await call(b, 'ok');
    expect(b.state).toBe('closed'); // 1/3
  });

  it('time: reads the clock at exit to place outcomes', async () => {
    const clock = new CountingClock();
    const b = circuitBreaker({ clock, window: { kind: 'time', durationMs: 1000 } });
    await call(b, 'ok');
    expect(clock.reads).toBe(1);
  });
});

describe('circuitBreaker: slow calls', () => {
  it('count mode opens on the slow-call rate; a call exactly at durationMs is not slow', async () => {
    const { b, clock } = make({
      window: { kind: 'count', size: 4 },
      slowCall: { durationMs: 100, rateThreshold: 0.5 },
    });
    await slowCall(b, clock, 100);
    await slowCall(b, clock, 101);
    await slowCall(b, clock, 5);
    expect(b.stats()).toMatchObject({ calls: 3, slowCalls: 1, failures: 0 });
    await slowCall(b, clock, 150);
    expect(b.state).toBe('open');
    const err = await call(b, 'ok');
    expect(err).toMatchObject({ code: 'FL_CIRCUIT_OPEN', details: { slowCallRate: 0.5, failureRate: 0 } });
  });

  it('time mode opens on the slow-call rate with minCalls', async () => {
    const events = collect('faultline:resilience:breaker-state');
    try {
      const { b, clock } = make({
        window: { kind: 'time', durationMs: 10_000, minCalls: 2 },
        slowCall: { durationMs: 50, rateThreshold: 1 },
      });
      await slowCall(b, clock, 60);
      expect(b.state).toBe('closed');
      await slowCall(b, clock, 60);
      expect(b.state).toBe('open');
      expect(events.events.at(-1)).toMatchObject({ reason: 'slow-call-rate', slowCallRate: 1, calls: 2 });
    } finally {
      events.stop();
    }
  });

  it('consecutive mode counts a slow success like a failure', async () => {
    const { b, clock } = make({ window: { kind: 'consecutive', failures: 3 }, slowCall: { durationMs: 10 } });
    await slowCall(b, clock, 20);
    await call(b, 'fail');
    expect(b.stats()).toMatchObject({ calls: 2, failures: 1, slowCalls: 1 });
    await slowCall(b, clock, 20);
    expect(b.state).toBe('open');
  });

  it('measures with one clock read at enter and a fresh one at exit', async () => {
    const clock = new CountingClock();
    const b = circuitBreaker({ clock, slowCall: { durationMs: 10 } });
    await call(b, 'ok');
    expect(clock.reads).toBe(2);
  });
});

describe('circuitBreaker: open and half-open', () => {
  it('turns half-open on the first call after the open duration and closes after a successful probe', async () => {
    const { b, clock } = make({ window: { kind: 'consecutive', failures: 1 }, openDurationMs: 1000 });
    await failTimes(b, 1);
    await clock.advance(400);
    expect(await call(b, 'ok')).toMatchObject({ details: { remainingMs: 600 } });
    await clock.advance(599);
    expect(codeOf(await call(b, 'ok'))).toBe('FL_CIRCUIT_OPEN');
    await clock.advance(1);
    expect(b.state).toBe('open'); // lazily: no timer
    expect(clock.pendingTimers).toBe(0);
    expect(await call(b, 'ok')).toBe('ok');
    expect(b.state).toBe('closed');
  });

  it('admits at most `probes` concurrent probes and rejects the others', async () => {
    const { b, clock } = make({
      window: { kind: 'consecutive', failures: 1 },
      openDurationMs: 10,
      halfOpen: { probes: 2, successThreshold: 3 },
    });
    await failTimes(b, 1);
    await clock.advance(10);
    const d1 = deferred();
    const d2 = deferred();
    const p1 = b.execute(() => d1.promise);
    const p2 = b.execute(() => d2.promise);
    expect(b.state).toBe('half-open');
    const err = await call(b, 'ok');
    expect(err).toMatchObject({
      code: 'FL_CIRCUIT_OPEN',
      details: { state: 'half-open', remainingMs: 0, probesInFlight: 2 },
    });
    expect(b.stats().probesInFlight).toBe(2);
    d1.resolve('a');
    await p1;
    expect(b.stats().probesInFlight).toBe(1);
    expect(b.state).toBe('half-open');
    d2.resolve('b');
    await p2;
    expect(b.state).toBe('half-open'); // 2 of 3 successes
    expect(await call(b, 'ok')).toBe('ok');
    expect(b.state).toBe('closed');
    expect(b.stats()).toMatchObject({ calls: 0, probesInFlight: 0 });
  });

  it('a failed probe re-opens; a slow probe re-opens too', async () => {
    const events = collect('faultline:resilience:breaker-state');
    try {
      const { b, clock } = make({
        window: { kind: 'consecutive', failures: 1 },
        openDurationMs: 100,
        slowCall: { durationMs: 50 },
      });
      await failTimes(b, 1);
      await clock.advance(100);
      expect(await call(b, 'fail')).toBe('failed');
      expect(b.state).toBe('open');
      await clock.advance(100);
      expect(await slowCall(b, clock, 60)).toBe('ok');
      expect(b.state).toBe('open');
      expect(events.events.map((e) => e.reason)).toEqual([
        'consecutive-failures',
        'open-duration-elapsed',
        'probe-failed',
        'open-duration-elapsed',
        'probe-slow',
      ]);
    } finally {
      events.stop();
    }
  });

  it('a probe frees its slot when the work throws synchronously or is aborted', async () => {
    const { b, clock } = make({ window: { kind: 'consecutive', failures: 1 }, openDurationMs: 10 });
    await failTimes(b, 1);
    await clock.advance(10);
    await expect(
      b.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(b.stats().probesInFlight).toBe(0);
    expect(b.state).toBe('open');
    await clock.advance(100);
    const ac = new AbortController();
    const p = b.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      ac.signal,
    );
    expect(b.stats().probesInFlight).toBe(1);
    ac.abort(new Error('caller gone'));
    await expect(p).rejects.toThrow('caller gone');
    expect(b.stats().probesInFlight).toBe(0);
    expect(b.state).toBe('half-open'); // an aborted probe decides nothing
    expect(await call(b, 'ok')).toBe('ok');
    expect(b.state).toBe('closed');
  });

  it('grows the open duration each time it re-opens from half-open, and resets it on close', async () => {
    const { b, clock } = make({
      window: { kind: 'consecutive', failures: 1 },
      openDuration: { initialMs: 100, maxMs: 300, factor: 2 },
    });
    const remaining = async () => ((await call(b, 'ok')) as FaultlineError).details?.remainingMs;
    await failTimes(b, 1);
    expect(await remaining()).toBe(100);
    const durations = [200, 300, 300];
    for (const d of durations) {
      await clock.advance(1000);
      await call(b, 'fail'); // the probe fails
      expect(await remaining()).toBe(d);
    }
    expect(b.stats().reopenCount).toBe(3);
    await clock.advance(1000);
    await call(b, 'ok');
    expect(b.state).toBe('closed');
    expect(b.stats().reopenCount).toBe(0);
    await failTimes(b, 1);
    expect(await remaining()).toBe(100);
  });

  it('ignores outcomes of calls admitted before the last state change', async () => {
    const { b, clock } = make({ window: { kind: 'consecutive', failures: 2 }, openDurationMs: 10 });
    const stale = [deferred(), deferred()];
    const ps = stale.map((d) => b.execute(() => d.promise).catch(() => 'x'));
    await failTimes(b, 2);
    expect(b.state).toBe('open');
    await clock.advance(10);
    await call(b, 'ok');
    expect(b.state).toBe('closed');
    for (const d of stale) d.reject(new Error('late'));
    await Promise.all(ps);
    expect(b.stats()).toMatchObject({ calls: 0, failures: 0 });
    expect(b.state).toBe('closed');
  });

  it('composes with retry: an open breaker is not retried', async () => {
    const { b } = make({ window: { kind: 'consecutive', failures: 1 } });
    let runs = 0;
    const policy = wrap(retry({ maxRetries: 3, backoff: 0 }), b);
    await expect(
      policy.execute(() => {
        runs++;
        throw new Error('down');
      }),
    ).rejects.toMatchObject({ code: 'FL_CIRCUIT_OPEN' });
    expect(runs).toBe(1);
  });
});

describe('circuitBreaker: manual control', () => {
  it('isolate rejects with FL_CIRCUIT_ISOLATED until release; release closes', async () => {
    const { b, clock } = make({ name: 'api' });
    b.isolate();
    expect(b.state).toBe('isolated');
    await clock.advance(1e9);
    const err = await call(b, 'ok');
    expect(err).toMatchObject({
      code: 'FL_CIRCUIT_ISOLATED',
      retryable: false,
      policy: 'circuit-breaker:api',
      details: { state: 'isolated' },
    });
    b.release();
    expect(b.state).toBe('closed');
    expect(await call(b, 'ok')).toBe('ok');
  });

  it('release is a no-op unless isolated; reset closes from any state and clears the window', async () => {
    const { b } = make({ window: { kind: 'consecutive', failures: 3 } });
    await failTimes(b, 2);
    b.release();
    expect(b.stats().calls).toBe(2);
    b.reset();
    expect(b.stats().calls).toBe(0);
    await failTimes(b, 3);
    expect(b.state).toBe('open');
    b.reset();
    expect(b.state).toBe('closed');
    expect(await call(b, 'ok')).toBe('ok');
    b.isolate();
    b.reset();
    expect(b.state).toBe('closed');
  });

  it('isolating a half-open breaker keeps in-flight probes counted until they finish', async () => {
    const { b, clock } = make({ window: { kind: 'consecutive', failures: 1 }, openDurationMs: 1 });
    await failTimes(b, 1);
    await clock.advance(1);
    const d = deferred();
    const p = b.execute(() => d.promise);
    b.isolate();
    b.release();
    expect(b.stats().probesInFlight).toBe(1);
    d.reject(new Error('late probe'));
    await p.catch(() => {});
    expect(b.stats()).toMatchObject({ probesInFlight: 0, calls: 0 });
    expect(b.state).toBe('closed');
  });
});

describe('circuitBreaker: what counts', () => {
  it('isFailure false counts as a success', async () => {
    const { b } = make({
      window: { kind: 'consecutive', failures: 2 },
      isFailure: (e) => !(e instanceof Error && e.message === 'not found'),
    });
    await call(b, 'fail');
    await b.execute(() => Promise.reject(new Error('not found'))).catch(() => {});
    expect(b.stats().calls).toBe(0);
    await failTimes(b, 2);
    expect(b.state).toBe('open');
  });

  it('isResultFailure turns results into failures', async () => {
    const { b } = make({
      window: { kind: 'count', size: 2 },
      isResultFailure: (r: { status: number }) => r.status >= 500,
    });
    await b.execute(() => ({ status: 503 }));
    await b.execute(() => ({ status: 200 }));
    expect(b.stats()).toMatchObject({ calls: 2, failures: 1 });
    expect(b.state).toBe('open');
  });

  it('a throwing predicate counts the call as a failure without an unhandled rejection', async () => {
    const { b } = make({
      window: { kind: 'consecutive', failures: 2 },
      isResultFailure: () => {
        throw new Error('bad predicate');
      },
    });
    await expect(b.execute(() => 1)).resolves.toBe(1);
    await expect(b.execute(() => 2)).resolves.toBe(2);
    expect(b.state).toBe('open');
  });

  it('does not count calls cancelled by their caller', async () => {
    const { b } = make({ window: { kind: 'consecutive', failures: 1 } });
    const ac = new AbortController();
    const p = b.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      ac.signal,
    );
    ac.abort('user left');
    await expect(p).rejects.toBe('user left');
    expect(b.state).toBe('closed');
    // work that never ran because the caller had already aborted: FL_ABORTED
    await expect(b.execute(() => 1, ac.signal)).rejects.toMatchObject({ code: 'FL_ABORTED' });
    expect(b.state).toBe('closed');
    expect(b.stats().calls).toBe(0);
  });

  it('counts a timeout inside the breaker and a timeout outside it', async () => {
    const clock = new ManualClock();
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const inner = circuitBreaker({ clock, window: { kind: 'consecutive', failures: 1 } });
    const p1 = wrap(inner, timeout(10, { clock, resolution: 1 })).execute(hang);
    p1.catch(() => {});
    await clock.advance(20);
    await expect(p1).rejects.toMatchObject({ code: 'FL_TIMEOUT' });
    expect(inner.state).toBe('open');

    const outer = circuitBreaker({ clock, window: { kind: 'consecutive', failures: 1 } });
    const p2 = wrap(timeout(10, { clock, resolution: 1 }), outer).execute(hang);
    p2.catch(() => {});
    await clock.advance(20);
    await expect(p2).rejects.toMatchObject({ code: 'FL_TIMEOUT' });
    expect(outer.state).toBe('open');
  });
});

describe('circuitBreaker: events', () => {
  it('publishes every state change and every rejection', async () => {
    const states = collect('faultline:resilience:breaker-state');
    const rejects = collect('faultline:resilience:reject');
    try {
      const { b, clock } = make({
        name: 'inv',
        window: { kind: 'consecutive', failures: 2 },
        openDurationMs: 50,
      });
      await failTimes(b, 2);
      await call(b, 'ok');
      await clock.advance(50);
      await call(b, 'ok');
      b.isolate();
      await call(b, 'ok');
      b.release();
      b.reset(); // closed → closed: no event
      expect(states.events).toEqual([
        {
          policy: 'circuit-breaker',
          name: 'inv',
          from: 'closed',
          to: 'open',
          reason: 'consecutive-failures',
          failureRate: 1,
          slowCallRate: 0,
          calls: 2,
        },
        expect.objectContaining({ from: 'open', to: 'half-open', reason: 'open-duration-elapsed' }),
        expect.objectContaining({ from: 'half-open', to: 'closed', reason: 'probes-succeeded', calls: 0 }),
        expect.objectContaining({ from: 'closed', to: 'isolated', reason: 'isolated' }),
        expect.objectContaining({ from: 'isolated', to: 'closed', reason: 'released' }),
      ]);
      expect(rejects.events).toEqual([
        {
          policy: 'circuit-breaker',
          name: 'inv',
          code: 'FL_CIRCUIT_OPEN',
          reason: 'open',
          details: { state: 'open', remainingMs: 50, failureRate: 1, slowCallRate: 0, calls: 2 },
        },
        expect.objectContaining({ code: 'FL_CIRCUIT_ISOLATED', reason: 'isolated' }),
      ]);
    } finally {
      states.stop();
      rejects.stop();
    }
  });

  it('rejections while half-open with busy probes say so', async () => {
    const rejects = collect('faultline:resilience:reject');
    try {
      const { b, clock } = make({ window: { kind: 'consecutive', failures: 1 }, openDurationMs: 1 });
      await failTimes(b, 1);
      await clock.advance(1);
      const d = deferred();
      const p = b.execute(() => d.promise);
      await call(b, 'ok');
      d.resolve('x');
      await p;
      expect(rejects.events).toEqual([
        expect.objectContaining({ code: 'FL_CIRCUIT_OPEN', reason: 'probes-busy' }),
      ]);
    } finally {
      rejects.stop();
    }
  });
});

describe('circuitBreaker: export and restore', () => {
  it('exports JSON and restores an open breaker with the time left, on another clock', async () => {
    const clock = new ManualClock(5000);
    let wall = 1_700_000_000_000;
    const b = circuitBreaker({
      clock,
      wallClock: () => wall,
      window: { kind: 'consecutive', failures: 1 },
      openDuration: { initialMs: 1000, maxMs: 8000 },
    });
    await failTimes(b, 1);
    await clock.advance(1000);
    await call(b, 'fail'); // probe fails: re-open for 2000 ms
    await clock.advance(500);
    wall += 1500;
    const snap = JSON.parse(JSON.stringify(b.exportState())) as ReturnType<
      CircuitBreakerPolicy['exportState']
    >;
    expect(snap).toMatchObject({
      version: 1,
      state: 'open',
      savedAt: wall,
      openUntil: wall + 1500,
      reopenCount: 1,
    });

    wall += 1000; // restarted one second later, on a fresh monotonic clock
    const clock2 = new ManualClock();
    const r = circuitBreaker({
      clock: clock2,
      wallClock: () => wall,
      window: { kind: 'consecutive', failures: 1 },
      openDuration: { initialMs: 1000, maxMs: 8000 },
      initialState: snap,
    });
    expect(r.state).toBe('open');
    expect(await call(r, 'ok')).toMatchObject({ details: { remainingMs: 500 } });
    await clock2.advance(500);
    await call(r, 'fail'); // re-opens, and the growth carried over
    expect(r.stats().reopenCount).toBe(2);
    expect(await call(r, 'ok')).toMatchObject({ details: { remainingMs: 4000 } });
  });

  it('restores window counts of each kind', async () => {
    const { b: c } = make({ window: { kind: 'consecutive', failures: 3 } });
    await failTimes(c, 2);
    const c2 = make({ window: { kind: 'consecutive', failures: 3 }, initialState: c.exportState() }).b;
    expect(c2.stats()).toMatchObject({ calls: 2, failures: 2 });
    await failTimes(c2, 1);
    expect(c2.state).toBe('open');

    const { b: n } = make({ window: { kind: 'count', size: 3 } });
    await call(n, 'fail');
    for (let i = 0; i < 3; i++) await call(n, 'ok');
    await call(n, 'fail');
    const ns = n.exportState();
    expect(ns.window).toEqual({ kind: 'count', outcomes: [0, 0, 1] });
    const n2 = make({ window: { kind: 'count', size: 2 }, initialState: ns }).b;
    expect(n2.stats()).toMatchObject({ calls: 2, failures: 1 });

    let wall = 0;
    const clock = new ManualClock();
    const t = circuitBreaker({
      clock,
      wallClock: () => wall,
      window: { kind: 'time', durationMs: 1000, buckets: 10, minCalls: 100 },
    });
    await call(t, 'fail');
    await clock.advance(500);
    wall += 500;
    await call(t, 'ok');
    const ts = t.exportState();
    expect(ts.window).toEqual({
      kind: 'time',
      buckets: [
        { ageMs: 0, calls: 1, failures: 0, slowCalls: 0 },
        { ageMs: 500, calls: 1, failures: 1, slowCalls: 0 },
      ],
    });
    wall += 450; // 450 ms later the failure is 950 ms old: still in the window
    const t2 = circuitBreaker({
      clock: new ManualClock(),
      wallClock: () => wall,
      window: { kind: 'time', durationMs: 1000, buckets: 10 },
      initialState: ts,
    });
    expect(t2.stats()).toMatchObject({ calls: 2, failures: 1 });
    wall += 100;
    const t3 = circuitBreaker({
      clock: new ManualClock(),
      wallClock: () => wall,
      window: { kind: 'time', durationMs: 1000, buckets: 10 },
      initialState: ts,
    });
    expect(t3.stats()).toMatchObject({ calls: 1, failures: 0 });
  });

  it('restores isolated and half-open; ignores a window of another kind', async () => {
    const { b } = make({ window: { kind: 'count', size: 5 } });
    await call(b, 'fail');
    b.isolate();
    const s = b.exportState();
    expect(s).toMatchObject({ state: 'isolated', openUntil: null });
    const r = make({ initialState: s }).b;
    expect(r.state).toBe('isolated');
    expect(r.stats().calls).toBe(0);
    const h = make({ initialState: { ...s, state: 'half-open' } }).b;
    expect(h.state).toBe('half-open');
    expect(await call(h, 'ok')).toBe('ok');
    expect(h.state).toBe('closed');
  });

  it('never stays open longer than configured after a wall-clock jump', async () => {
    const { b } = make({
      openDurationMs: 1000,
      wallClock: () => 0,
      initialState: { version: 1, state: 'open', savedAt: 0, openUntil: 1e12, reopenCount: 0 },
    });
    expect(await call(b, 'ok')).toMatchObject({ details: { remainingMs: 1000 } });
  });

  it('rejects a malformed snapshot with FL_INVALID_OPTION naming the field', () => {
    const good = { version: 1, state: 'open', savedAt: 0, openUntil: 10, reopenCount: 0 };
    const cases: [unknown, string][] = [
      [null, 'initialState'],
      [{ ...good, version: 2 }, 'initialState.version'],
      [{ ...good, state: 'ajar' }, 'initialState.state'],
      [{ ...good, savedAt: 'yesterday' }, 'initialState.savedAt'],
      [{ ...good, openUntil: null }, 'initialState.openUntil'],
      [{ ...good, state: 'closed', openUntil: 5 }, 'initialState.openUntil'],
      [{ ...good, reopenCount: -1 }, 'initialState.reopenCount'],
      [{ ...good, window: 3 }, 'initialState.window'],
      [{ ...good, window: { kind: 'tally' } }, 'initialState.window.kind'],
      [{ ...good, window: { kind: 'count', outcomes: [0, 4] } }, 'initialState.window.outcomes[1]'],
      [
        { ...good, window: { kind: 'consecutive', calls: 1, failures: 2, slowCalls: 0 } },
        'initialState.window.failures',
      ],
      [
        { ...good, window: { kind: 'time', buckets: [{ ageMs: -1, calls: 1, failures: 0, slowCalls: 0 }] } },
        'initialState.window.buckets[0].ageMs',
      ],
    ];
    for (const [snapshot, option] of cases) {
      let error: unknown;
      try {
        circuitBreaker({ initialState: snapshot as never });
      } catch (e) {
        error = e;
      }
      expect(error, option).toMatchObject({ code: 'FL_INVALID_OPTION', details: { option } });
    }
  });
});

describe('circuitBreaker: options', () => {
  it('validates every option, naming it', () => {
    const cases: [CircuitBreakerOptions, string][] = [
      [{ window: { kind: 'consecutive', failures: 0 } }, 'window.failures'],
      [{ window: { kind: 'consecutive', failures: 1.5 } }, 'window.failures'],
      [{ window: { kind: 'count', size: 0 } }, 'window.size'],
      [{ window: { kind: 'count', size: 5, minCalls: 6 } }, 'window.minCalls'],
      [{ window: { kind: 'time', durationMs: 0 } }, 'window.durationMs'],
      [{ window: { kind: 'time', durationMs: 1000, buckets: 0 } }, 'window.buckets'],
      [{ window: { kind: 'time', durationMs: 1000, minCalls: 0 } }, 'window.minCalls'],
      [{ window: { kind: 'ratio' } as never }, 'window.kind'],
      [{ failureRateThreshold: 0 }, 'failureRateThreshold'],
      [{ failureRateThreshold: 1.5 }, 'failureRateThreshold'],
      [{ slowCall: { durationMs: -1 } }, 'slowCall.durationMs'],
      [{ slowCall: { durationMs: 10, rateThreshold: 2 } }, 'slowCall.rateThreshold'],
      [{ openDurationMs: -1 }, 'openDurationMs'],
      [{ openDurationMs: Number.NaN }, 'openDurationMs'],
      [{ openDuration: { initialMs: 10, maxMs: 5 } }, 'openDuration.maxMs'],
      [{ openDuration: { initialMs: 10, maxMs: 50, factor: 0.5 } }, 'openDuration.factor'],
      [{ openDuration: { initialMs: 10, maxMs: 50 }, openDurationMs: 5 }, 'openDuration'],
      [{ halfOpen: { probes: 0 } }, 'halfOpen.probes'],
      [{ halfOpen: { successThreshold: 0 } }, 'halfOpen.successThreshold'],
      [{ isFailure: 'yes' as never }, 'isFailure'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        circuitBreaker(options);
      } catch (e) {
        error = e;
      }
      expect(error, option).toMatchObject({ code: 'FL_INVALID_OPTION', details: { option } });
    }
  });

  it('uses the system clock by default', async () => {
    const b = circuitBreaker();
    expect(b.clock).toBe(systemClock);
    await expect(b.execute(() => 1)).resolves.toBe(1);
  });
});
