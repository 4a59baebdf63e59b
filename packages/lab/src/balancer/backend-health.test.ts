import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendHealth, type HealthPolicy } from './backend-health.js';
import type { BalancerEvent } from './balancer-options.js';

const policy: HealthPolicy = {
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  passive: { consecutiveFailures: 3, ejectionMs: 1000 },
  maxEjectionPercent: 100,
  panicThresholdPercent: 0,
  slowStartMs: 0,
};

function machine(ids: string[], overrides: Partial<HealthPolicy> = {}) {
  const events: BalancerEvent[] = [];
  const health = new BackendHealth(ids, { ...policy, ...overrides }, (e) => events.push(e));
  return { health, events };
}

describe('BackendHealth', () => {
  it('ejects at the unhealthy threshold and returns at the healthy threshold', () => {
    const { health, events } = machine(['a', 'b']);
    health.recordCheck(0, 'HTTP 503', 0);
    expect(health.isEjected(0)).toBe(false);
    health.recordCheck(0, 'timeout after 1000ms', 1);
    expect(health.isEjected(0)).toBe(true);
    expect(health.routable()).toEqual([1]);
    health.recordCheck(0, undefined, 2);
    health.recordCheck(0, undefined, 3);
    expect(events.map((e) => [e.kind, e.reason])).toEqual([
      ['lb.eject', '2 failed health checks (timeout after 1000ms)'],
      ['lb.return', '2 passed health checks'],
    ]);
    expect(health.routable()).toEqual([0, 1]);
  });

  it('keeps a passively ejected backend out when its checks fail meanwhile', () => {
    const { health, events } = machine(['a', 'b']);
    for (let i = 0; i < 3; i++) health.recordOutcome(0, { kind: '5xx', detail: 'HTTP 500' }, 0);
    health.recordCheck(0, 'HTTP 500', 100);
    health.recordCheck(0, 'HTTP 500', 200);
    health.tick(1000);
    expect(health.isEjected(0)).toBe(true);
    expect(health.snapshot(1000)[0]?.ejectedBy).toBe('health_check');
    health.recordCheck(0, undefined, 1100);
    health.recordCheck(0, undefined, 1200);
    expect(events.map((e) => e.kind)).toEqual(['lb.eject', 'lb.return']);
    expect(events[1]?.reason).toBe('2 passed health checks');
  });

  it('weights a returning backend from 0.1 to 1 over the slow-start window', () => {
    const { health } = machine(['a', 'b'], { slowStartMs: 1000 });
    health.recordCheck(0, 'x', 0);
    health.recordCheck(0, 'x', 0);
    health.recordCheck(0, undefined, 100);
    health.recordCheck(0, undefined, 100);
    expect(health.weight(0, 100)).toBeCloseTo(0.1);
    expect(health.weight(0, 600)).toBeCloseTo(0.55);
    expect(health.weight(0, 1100)).toBe(1);
    expect(health.weight(1, 100)).toBe(1);
  });

  type Step =
    | { readonly op: 'check'; readonly index: number; readonly ok: boolean }
    | { readonly op: 'outcome'; readonly index: number; readonly failure: '5xx' | 'error' | undefined }
    | { readonly op: 'advance'; readonly ms: number };

  const step = (n: number): fc.Arbitrary<Step> =>
    fc.oneof(
      fc.record({ op: fc.constant('check' as const), index: fc.nat(n - 1), ok: fc.boolean() }),
      fc.record({
        op: fc.constant('outcome' as const),
        index: fc.nat(n - 1),
        failure: fc.constantFrom('5xx' as const, 'error' as const, undefined),
      }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1500 }) }),
    );

  const scenario = fc
    .record({
      n: fc.integer({ min: 1, max: 6 }),
      maxEjectionPercent: fc.constantFrom(0, 30, 50, 67, 100),
      panicThresholdPercent: fc.constantFrom(0, 30, 50, 80),
      unhealthyThreshold: fc.integer({ min: 1, max: 3 }),
      healthyThreshold: fc.integer({ min: 1, max: 3 }),
      passiveOn: fc.boolean(),
    })
    .chain((c) => fc.record({ config: fc.constant(c), steps: fc.array(step(c.n), { maxLength: 200 }) }));

  it('never ejects more than the cap, alternates eject/return and panic/panic_end, and routes consistently', () => {
    fc.assert(
      fc.property(scenario, ({ config, steps }) => {
        const ids = Array.from({ length: config.n }, (_, i) => `b${i}`);
        const { health, events } = machine(ids, {
          maxEjectionPercent: config.maxEjectionPercent,
          panicThresholdPercent: config.panicThresholdPercent,
          unhealthyThreshold: config.unhealthyThreshold,
          healthyThreshold: config.healthyThreshold,
          passive: config.passiveOn ? { consecutiveFailures: 2, ejectionMs: 1000 } : undefined,
        });
        const cap = Math.floor((config.n * config.maxEjectionPercent) / 100);
        let now = 0;
        for (const s of steps) {
          if (s.op === 'advance') {
            now += s.ms;
            const expiry = health.nextExpiry();
            if (expiry !== undefined && expiry <= now) health.tick(now);
          } else if (s.op === 'check') {
            health.recordCheck(s.index, s.ok ? undefined : 'HTTP 503', now);
          } else {
            health.recordOutcome(
              s.index,
              s.failure === undefined ? undefined : { kind: s.failure, detail: 'x' },
              now,
            );
          }

          const snapshot = health.snapshot(now);
          const ejected = snapshot.filter((b) => b.ejected).length;
          expect(ejected).toBeLessThanOrEqual(cap);
          // routing: everyone in panic mode, else exactly the backends not ejected
          const expected = health.panic
            ? ids.map((_, i) => i)
            : ids.map((_, i) => i).filter((i) => !snapshot[i]?.ejected);
          expect([...health.routable()]).toEqual(expected);
          // panic mode is on exactly when the healthy share is below the threshold
          const healthy = snapshot.filter((b) => b.healthy).length;
          expect(health.panic).toBe(
            config.panicThresholdPercent > 0 && healthy * 100 < config.panicThresholdPercent * config.n,
          );
          // a passive ejection never outlives its sentence once the timer has fired
          const expiry = health.nextExpiry();
          expect(expiry === undefined || expiry > now || s.op !== 'advance').toBe(true);
        }

        // events replay to the final state: per backend, eject and return alternate, starting with eject
        const out = new Map<string, boolean>();
        let panic = false;
        for (const e of events) {
          if (e.kind === 'lb.eject') {
            expect(out.get(e.target) ?? false).toBe(false);
            out.set(e.target, true);
          } else if (e.kind === 'lb.return') {
            expect(out.get(e.target)).toBe(true);
            out.set(e.target, false);
          } else if (e.kind === 'lb.eject_skipped') {
            expect(out.get(e.target) ?? false).toBe(false);
          } else {
            expect(panic).toBe(e.kind === 'lb.panic_end');
            panic = e.kind === 'lb.panic';
          }
        }
        const final = health.snapshot(now);
        for (const [i, id] of ids.entries()) expect(out.get(id) ?? false).toBe(final[i]?.ejected);
        expect(panic).toBe(health.panic);
      }),
      { numRuns: 300 },
    );
  });

  it('ejects every backend with no cap, and none with a 0 % cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.constantFrom(0, 100), (n, cap) => {
        const { health } = machine(
          Array.from({ length: n }, (_, i) => `b${i}`),
          { maxEjectionPercent: cap },
        );
        for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) health.recordCheck(i, 'HTTP 503', k);
        expect(health.routable()).toHaveLength(cap === 100 ? 0 : n);
      }),
    );
  });
});
