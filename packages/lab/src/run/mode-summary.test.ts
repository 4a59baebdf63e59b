import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../load/load-generator.js';
import { summarize } from './mode-summary.js';

const T0 = 1_700_000_000_000;

function outcomes(perSecond: readonly number[], rps = 10): RequestOutcome[] {
  // perSecond[s] = share of that second's requests that succeed
  const list: RequestOutcome[] = [];
  perSecond.forEach((share, s) => {
    for (let i = 0; i < rps; i++) {
      const ok = i < Math.round(share * rps);
      list.push({
        t: T0 + s * 1000 + i * 10,
        ms: ok ? 50 : 2000,
        ok,
        status: ok ? 200 : 0,
        attempts: ok ? 1 : 4,
        degraded: false,
      });
    }
  });
  return list;
}

describe('summarize', () => {
  it('computes availability, goodput, amplification and recovery after the trigger', () => {
    const shape = [...Array(10).fill(1), ...Array(10).fill(0), ...Array(3).fill(0.5), ...Array(7).fill(1)];
    const s = summarize(outcomes(shape), T0, 30, 20);
    expect(s.requests).toBe(300);
    expect(s.availability).toBeCloseTo((17 * 10 + 3 * 5) / 300, 5);
    expect(s.goodput_rps).toBeCloseTo(185 / 30, 5);
    expect(s.attempts_per_request).toBeCloseTo((185 + 115 * 4) / 300, 5);
    // seconds 20–22 at 50 %, stable from 23: recovered 3 s after the trigger ended
    expect(s.recovered).toBe(true);
    expect(s.recovery_s).toBe(3);
    expect(s.seconds_below_90).toBe(13);
    expect(s.worst_10s_availability).toBe(0);
    expect(s.p99_ms).toBe(2000);
  });

  it('says when a run never recovered', () => {
    const s = summarize(outcomes([...Array(5).fill(1), ...Array(25).fill(0.2)]), T0, 30, 10);
    expect(s.recovered).toBe(false);
    expect(s.recovery_s).toBeNull();
  });

  it('reports recovery 0 when the trigger did no harm', () => {
    const s = summarize(outcomes(Array(20).fill(1)), T0, 20, 5);
    expect(s.recovery_s).toBe(0);
    expect(s.availability).toBe(1);
  });

  it('measures availability before the first step: a stack failing before any fault is overloaded', () => {
    // healthy 5 s, then failing from second 5; the scenario's first step comes at second 10
    const shape = [...Array(5).fill(1), ...Array(25).fill(0)];
    expect(summarize(outcomes(shape), T0, 30, 20, 10).pre_trigger_availability).toBeCloseTo(0.5, 5);
    expect(summarize(outcomes(Array(30).fill(1)), T0, 30, 20, 10).pre_trigger_availability).toBe(1);
    // no step, or a step at the very start: nothing to measure
    expect(summarize(outcomes(shape), T0, 30, 20).pre_trigger_availability).toBeNull();
    expect(
      summarize(outcomes(shape), T0, 30, 20, Number.POSITIVE_INFINITY).pre_trigger_availability,
    ).toBeNull();
    expect(summarize(outcomes(shape), T0, 30, 20, 0).pre_trigger_availability).toBeNull();
  });

  it('keeps every figure within its bounds for any outcomes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            s: fc.integer({ min: -2, max: 40 }),
            ok: fc.boolean(),
            attempts: fc.integer({ min: 1, max: 4 }),
            ms: fc.double({ min: 0, max: 10_000, noNaN: true }),
          }),
          { maxLength: 300 },
        ),
        fc.integer({ min: 5, max: 40 }),
        (raw, duration) => {
          const list = raw.map((r) => ({
            t: T0 + r.s * 1000,
            ms: r.ms,
            ok: r.ok,
            status: r.ok ? 200 : 503,
            attempts: r.attempts,
            degraded: false,
          }));
          const s = summarize(list, T0, duration, Math.floor(duration / 2));
          expect(s.availability).toBeGreaterThanOrEqual(0);
          expect(s.availability).toBeLessThanOrEqual(1);
          expect(s.per_second).toHaveLength(duration);
          expect(s.requests).toBe(list.filter((o) => o.t >= T0 && o.t < T0 + duration * 1000).length);
          if (s.requests > 0) {
            expect(s.attempts_per_request).toBeGreaterThanOrEqual(1);
            expect(s.attempts_per_request).toBeLessThanOrEqual(4);
          }
          expect(s.recovered).toBe(s.recovery_s !== null);
        },
      ),
    );
  });
});
