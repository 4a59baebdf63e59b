import type { LabSummary } from '@faultline/lab';
import { describe, expect, it } from 'vitest';
import { comparisonTable, overloadWarnings } from './lab.js';

type Figures = LabSummary['modes']['baseline'] & object;

const figures = (pre: number | null): Figures => ({
  availability: 0.5,
  goodput_rps: 60,
  offered_rps: 120,
  p50_ms: 5,
  p99_ms: 900,
  attempts_per_request: 1.2,
  recovery_s: null,
  recovered: false,
  pre_trigger_availability: pre,
  seconds_below_90: 30,
  worst_10s_availability: 0,
  degraded_share: 0,
  requests: 9000,
  bundle: 'baseline',
  app_crashes: 0,
});

const summary = (modes: LabSummary['modes']): LabSummary => ({
  scenario: 'pool-exhaustion',
  title: 'pool exhaustion',
  database: 'PostgreSQL',
  rps: 180,
  duration_s: 75,
  trigger_end_s: 50,
  modes,
  ground_truth: [],
  created_at: '2026-11-25T00:00:00.000Z',
});

describe('faultline lab output', () => {
  it('warns, per mode, when the stack was failing before the first step, and only then', () => {
    const warnings = overloadWarnings(summary({ baseline: figures(0.312), hardened: figures(0.999) }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the baseline stack was already failing');
    expect(warnings[0]).toContain('31.2 %');
    expect(warnings[0]).toContain('180 req/s');
    expect(overloadWarnings(summary({ baseline: figures(null), hardened: figures(0.95) }))).toEqual([]);
  });

  it('prints one row per mode', () => {
    const table = comparisonTable(summary({ baseline: figures(1) })).split('\n');
    expect(table).toHaveLength(2);
    expect(table[1]).toMatch(/^baseline\s+50\.0 %/);
  });
});
