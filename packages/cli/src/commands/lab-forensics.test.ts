import { describe, expect, it } from 'vitest';
import { formatScores, judgeCauses, type RecordingScore } from './lab-forensics.js';

const leak = 'memory leak → GC pauses stall the event loop → health checks time out';
const app = (instance: string, mechanism: string | null) => ({ service: 'app', instance, mechanism });

describe('judgeCauses', () => {
  it('is correct only when the first cause names the true instance and the scenario’s mechanism', () => {
    const truth = { service: 'app', instance: 'app-1' };
    expect(judgeCauses('leak-cascade', truth, [app('app-1', leak)])).toEqual({
      rank: 1,
      expected_mechanism: 'memory leak → GC → ejection',
      top_correct: true,
    });
    // right place, wrong mechanism
    expect(judgeCauses('leak-cascade', truth, [app('app-1', 'retry storm: timeouts …')]).top_correct).toBe(
      false,
    );
    // right mechanism, wrong instance; the truth second
    expect(judgeCauses('leak-cascade', truth, [app('app-2', leak), app('app-1', leak)])).toMatchObject({
      rank: 2,
      top_correct: false,
    });
    expect(judgeCauses('leak-cascade', truth, [])).toMatchObject({ rank: null, top_correct: false });
  });

  it('judges a hardened run on the place alone: its defences keep the mechanism from happening', () => {
    const truth = { service: 'postgres', instance: null };
    const contained = {
      service: 'postgres',
      instance: null,
      mechanism: 'slow or failing dependency, contained: …',
    };
    expect(judgeCauses('pool-exhaustion', truth, [contained], 'hardened')).toEqual({
      rank: 1,
      expected_mechanism: null,
      top_correct: true,
    });
    expect(judgeCauses('pool-exhaustion', truth, [contained], 'baseline').top_correct).toBe(false);
    // the wrong place stays wrong
    expect(
      judgeCauses('pool-exhaustion', truth, [{ ...app('app-1', 'errors raised …') }, contained], 'hardened'),
    ).toMatchObject({ rank: 2, top_correct: false });
  });

  it('matches a dependency by service when the injection names no instance', () => {
    const truth = { service: 'postgres', instance: null };
    const pool = 'slow or failing database → connection pool saturation in its callers';
    expect(
      judgeCauses('db-network-delay', truth, [{ service: 'postgres', instance: null, mechanism: pool }])
        .top_correct,
    ).toBe(true);
    // a scenario outside the catalogue is judged on the place alone
    expect(judgeCauses('custom', truth, [{ service: 'postgres', instance: null, mechanism: null }])).toEqual({
      rank: 1,
      expected_mechanism: null,
      top_correct: true,
    });
  });
});

describe('formatScores', () => {
  it('says what was named, where the fault was, and whether the top cause is right', () => {
    const score: RecordingScore = {
      mode: 'baseline',
      truth: { service: 'app', instance: 'app-1' },
      ...judgeCauses('leak-cascade', { service: 'app', instance: 'app-1' }, [app('app-1', leak)]),
      incidents: 1,
      onset_error_s: 2.5,
      top: [{ ...app('app-1', leak), score: 12 }],
      analysis_ms: 900,
    };
    expect(formatScores([score])).toBe(
      `investigate (baseline): top cause app-1 — ${leak}; injected into app-1 (memory leak → GC → ejection): rank 1 ✓; onset +2.5 s from the injection`,
    );
    expect(formatScores([{ ...score, top: [], rank: null, top_correct: false, onset_error_s: null }])).toBe(
      'investigate (baseline): top cause no incident found; injected into app-1 (memory leak → GC → ejection): not ranked',
    );
  });
});
