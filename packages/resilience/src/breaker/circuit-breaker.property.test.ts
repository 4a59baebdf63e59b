import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { BreakerSnapshot } from './breaker-snapshot.js';
import type { BreakerState, BreakerStateChange } from './breaker-state.js';
import { type BreakerWindowOptions, type CircuitBreakerOptions, circuitBreaker } from './circuit-breaker.js';

interface Config {
  readonly window: BreakerWindowOptions;
  readonly failureRateThreshold: number;
  readonly slowCall: { durationMs: number; rateThreshold: number } | undefined;
  readonly open: { initialMs: number; maxMs: number; factor: number };
  readonly probes: number;
  readonly successThreshold: number;
}

type Op =
  | { readonly k: 'start' }
  | { readonly k: 'finish'; readonly pick: number; readonly outcome: 'ok' | 'fail' | 'abort' }
  | { readonly k: 'advance'; readonly ms: number }
  | { readonly k: 'isolate' }
  | { readonly k: 'release' }
  | { readonly k: 'reset' };

interface ModelCall {
  readonly period: number;
  readonly probe: boolean;
  readonly start: number;
}

interface Transition {
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

/** The breaker as the spec states it, written for clarity rather than speed. */
class Model {
  state: BreakerState = 'closed';
  period = 0;
  openUntil = 0;
  reopens = 0;
  probes = 0;
  successes = 0;
  /** outcomes recorded since the window was last cleared */
  records: { t: number; fail: boolean; slow: boolean }[] = [];
  readonly log: Transition[] = [];

  constructor(readonly cfg: Config) {}

  #go(to: BreakerState, reason: string): void {
    if (this.state !== to) this.log.push({ from: this.state, to, reason });
    this.state = to;
    this.period++;
    this.successes = 0;
    if (to === 'closed') {
      this.records = [];
      this.reopens = 0;
    }
  }

  #open(now: number, reason: string): void {
    if (this.state === 'half-open') this.reopens++;
    const o = this.cfg.open;
    this.openUntil = now + Math.min(o.maxMs, o.initialMs * o.factor ** this.reopens);
    this.#go('open', reason);
  }

  /** the window's calls, failures and slow calls at `now` */
  window(now: number): { calls: number; failures: number; slow: number } {
    const w = this.cfg.window;
    let rs = this.records;
    if (w.kind === 'consecutive') {
      let i = rs.length;
      while (i > 0 && (rs[i - 1]?.fail || rs[i - 1]?.slow)) i--;
      rs = rs.slice(i);
    } else if (w.kind === 'count') {
      rs = rs.slice(Math.max(0, rs.length - w.size));
    } else {
      const width = w.durationMs / (w.buckets ?? 10);
      const oldest = Math.floor(now / width) - (w.buckets ?? 10);
      rs = rs.filter((r) => Math.floor(r.t / width) > oldest);
    }
    return {
      calls: rs.length,
      failures: rs.filter((r) => r.fail).length,
      slow: rs.filter((r) => r.slow).length,
    };
  }

  admit(now: number): ModelCall | undefined {
    if (this.state === 'closed') return { period: this.period, probe: false, start: now };
    if (this.state === 'isolated') return undefined;
    if (this.state === 'open') {
      if (now < this.openUntil) return undefined;
      this.#go('half-open', 'open-duration-elapsed');
    }
    if (this.probes >= this.cfg.probes) return undefined;
    this.probes++;
    return { period: this.period, probe: true, start: now };
  }

  finish(c: ModelCall, now: number, outcome: 'ok' | 'fail' | 'abort'): void {
    if (c.probe) this.probes--;
    if (c.period !== this.period || outcome === 'abort') return;
    const fail = outcome === 'fail';
    const slow = this.cfg.slowCall !== undefined && now - c.start > this.cfg.slowCall.durationMs;
    if (c.probe) {
      if (fail) this.#open(now, 'probe-failed');
      else if (slow) this.#open(now, 'probe-slow');
      else if (++this.successes >= this.cfg.successThreshold) this.#go('closed', 'probes-succeeded');
      return;
    }
    this.records.push({ t: now, fail, slow });
    const w = this.cfg.window;
    const { calls, failures, slow: slowCalls } = this.window(now);
    if (w.kind === 'consecutive') {
      if ((fail || slow) && calls >= (w.failures ?? 5)) this.#open(now, 'consecutive-failures');
      return;
    }
    const minCalls = w.kind === 'count' ? (w.minCalls ?? w.size) : (w.minCalls ?? 10);
    if (calls < minCalls) return;
    if (failures / calls >= this.cfg.failureRateThreshold) this.#open(now, 'failure-rate');
    else if (this.cfg.slowCall !== undefined && slowCalls / calls >= this.cfg.slowCall.rateThreshold) {
      this.#open(now, 'slow-call-rate');
    }
  }

  isolate(): void {
    if (this.state !== 'isolated') this.#go('isolated', 'isolated');
  }

  release(): void {
    if (this.state === 'isolated') this.#go('closed', 'released');
  }

  reset(): void {
    this.#go('closed', 'reset');
  }
}

const windowArb: fc.Arbitrary<BreakerWindowOptions> = fc.oneof(
  fc.record({ kind: fc.constant('consecutive' as const), failures: fc.integer({ min: 1, max: 4 }) }),
  fc.integer({ min: 1, max: 6 }).chain((size) =>
    fc.record({
      kind: fc.constant('count' as const),
      size: fc.constant(size),
      minCalls: fc.integer({ min: 1, max: size }),
    }),
  ),
  fc.record({
    kind: fc.constant('time' as const),
    durationMs: fc.constantFrom(100, 1000),
    buckets: fc.integer({ min: 1, max: 5 }),
    minCalls: fc.integer({ min: 1, max: 4 }),
  }),
);

const configArb: fc.Arbitrary<Config> = fc.record({
  window: windowArb,
  failureRateThreshold: fc.constantFrom(0.25, 0.5, 0.75, 1),
  slowCall: fc.option(
    fc.record({ durationMs: fc.integer({ min: 0, max: 60 }), rateThreshold: fc.constantFrom(0.5, 1) }),
    { nil: undefined },
  ),
  open: fc.oneof(
    fc.integer({ min: 0, max: 200 }).map((ms) => ({ initialMs: ms, maxMs: ms, factor: 1 })),
    fc.record({
      initialMs: fc.integer({ min: 1, max: 50 }),
      maxMs: fc.integer({ min: 50, max: 400 }),
      factor: fc.constantFrom(1.5, 2, 3),
    }),
  ),
  probes: fc.integer({ min: 1, max: 3 }),
  successThreshold: fc.integer({ min: 1, max: 3 }),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Op>({ k: 'start' }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('finish' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('ok' as const, 'fail' as const, 'abort' as const),
    }),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 150 }).map<Op>((ms) => ({ k: 'advance', ms })) },
  { weight: 1, arbitrary: fc.constantFrom<Op>({ k: 'isolate' }, { k: 'release' }, { k: 'reset' }) },
);

function optionsOf(cfg: Config, clock: ManualClock): CircuitBreakerOptions {
  return {
    clock,
    window: cfg.window,
    failureRateThreshold: cfg.failureRateThreshold,
    ...(cfg.slowCall === undefined ? {} : { slowCall: cfg.slowCall }),
    openDuration: cfg.open,
    halfOpen: { probes: cfg.probes, successThreshold: cfg.successThreshold },
  };
}

interface Running {
  readonly model: ModelCall;
  readonly settled: Promise<void>;
  readonly ac: AbortController;
  resolve: (v: string) => void;
  reject: (e: unknown) => void;
}

describe('circuitBreaker: properties', () => {
  it('matches the reference model; never admits while open or isolated; probes stay bounded and are released', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }),
        async (cfg, ops) => {
          const clock = new ManualClock();
          const b = circuitBreaker(optionsOf(cfg, clock));
          const model = new Model(cfg);
          const seen: Transition[] = [];
          const onState = (m: unknown) => {
            const { from, to, reason } = m as BreakerStateChange;
            seen.push({ from, to, reason });
          };
          subscribe('faultline:resilience:breaker-state', onState);
          const running: Running[] = [];
          const check = () => {
            expect(b.state).toBe(model.state);
            const s = b.stats();
            const w = model.window(clock.now());
            expect({ calls: s.calls, failures: s.failures, slowCalls: s.slowCalls }).toEqual({
              calls: w.calls,
              failures: w.failures,
              slowCalls: w.slow,
            });
            expect(s.probesInFlight).toBe(model.probes);
            expect(s.reopenCount).toBe(model.reopens);
            const probes = running.filter((r) => r.model.probe).length;
            expect(probes).toBe(s.probesInFlight);
            expect(probes).toBeLessThanOrEqual(cfg.probes);
            expect(seen).toEqual(model.log);
          };
          const finish = async (r: Running, outcome: 'ok' | 'fail' | 'abort') => {
            running.splice(running.indexOf(r), 1);
            if (outcome === 'ok') r.resolve('ok');
            else if (outcome === 'fail') r.reject(new Error('dependency failed'));
            else {
              r.ac.abort('caller left');
              r.reject('caller left');
            }
            await r.settled;
            model.finish(r.model, clock.now(), outcome);
          };
          try {
            for (const op of ops) {
              if (op.k === 'start') {
                const before = b.state;
                const expected = model.admit(clock.now());
                let admitted = false;
                const ac = new AbortController();
                const r: Running = {
                  model: expected ?? { period: -1, probe: false, start: 0 },
                  settled: Promise.resolve(),
                  ac,
                  resolve: () => {},
                  reject: () => {},
                };
                const p = b.execute(() => {
                  admitted = true;
                  return new Promise<string>((res, rej) => {
                    r.resolve = res;
                    r.reject = rej;
                  });
                }, ac.signal);
                const settled = p.then(
                  () => {},
                  () => {},
                );
                expect(admitted).toBe(expected !== undefined);
                if (admitted) {
                  // nothing runs while open (before the open period ends) or isolated, except probes
                  expect(before === 'isolated').toBe(false);
                  if (before === 'open' || before === 'half-open') expect(b.state).toBe('half-open');
                  running.push({ ...r, settled });
                } else {
                  await settled;
                }
              } else if (op.k === 'finish') {
                const r = running[op.pick % Math.max(1, running.length)];
                if (r !== undefined) await finish(r, op.outcome);
              } else if (op.k === 'advance') {
                await clock.advance(op.ms);
              } else {
                b[op.k]();
                model[op.k]();
              }
              check();
            }
            // every admitted call gives back what it took
            while (running.length > 0) {
              const r = running[0];
              if (r !== undefined) await finish(r, 'ok');
            }
            check();
            expect(b.stats().probesInFlight).toBe(0);
          } finally {
            unsubscribe('faultline:resilience:breaker-state', onState);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('circuitBreaker: export/restore property', () => {
  it('a restored breaker has the state, growth and window counts of the one exported', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb, { minLength: 5, maxLength: 60, size: 'max' }),
        async (cfg, ops) => {
          const clock = new ManualClock(1000);
          const wall = () => 1_700_000_000_000 + clock.now();
          const b = circuitBreaker({ ...optionsOf(cfg, clock), wallClock: wall });
          const pending: { resolve: () => void; reject: () => void; settled: Promise<unknown> }[] = [];
          for (const op of ops) {
            if (op.k === 'start') {
              let resolve = () => {};
              let reject = () => {};
              const settled = b
                .execute(
                  () =>
                    new Promise<void>((res, rej) => {
                      resolve = () => res();
                      reject = () => rej(new Error('down'));
                    }),
                )
                .catch(() => {});
              pending.push({ resolve: () => resolve(), reject: () => reject(), settled });
            } else if (op.k === 'finish') {
              const [r] = pending.splice(op.pick % Math.max(1, pending.length), 1);
              if (r !== undefined) {
                if (op.outcome === 'fail') r.reject();
                else r.resolve();
                await r.settled;
              }
            } else if (op.k === 'advance') {
              await clock.advance(op.ms);
            } else {
              b[op.k]();
            }
          }
          const snap = JSON.parse(JSON.stringify(b.exportState())) as BreakerSnapshot;
          const other = new ManualClock(clock.now() * 3);
          const r = circuitBreaker({
            ...optionsOf(cfg, other),
            wallClock: wall,
            initialState: snap,
          });
          const a = b.stats();
          const c = r.stats();
          expect({ ...c, probesInFlight: 0 }).toEqual({ ...a, probesInFlight: 0 });
          expect(c.probesInFlight).toBe(0);
          const again = r.exportState();
          const first = b.exportState();
          expect(again.state).toBe(first.state);
          expect(again.reopenCount).toBe(first.reopenCount);
          if (first.openUntil === null) expect(again.openUntil).toBeNull();
          else expect(again.openUntil).toBeCloseTo(first.openUntil, 6);
          for (const p of pending) p.resolve();
          await Promise.all(pending.map((p) => p.settled));
          expect(b.stats().probesInFlight).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
