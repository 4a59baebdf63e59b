import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabSummary } from '@faultline/lab';

/** How `faultline investigate` did on one mode's recording, against the lab's ground truth. */
export interface RecordingScore {
  readonly mode: string;
  /** where the injection was: an app instance, or a dependency (`postgres`, `external-api`) */
  readonly truth: { readonly service: string; readonly instance: string | null };
  /** 1-based rank of the first cause naming the true instance (or service); null: not ranked */
  readonly rank: number | null;
  /** the catalogue mechanism the scenario reproduces (null: the scenario names none) */
  readonly expected_mechanism: string | null;
  /** whether the top cause names the true place and the expected mechanism */
  readonly top_correct: boolean;
  readonly incidents: number;
  /** detected onset of the first incident minus the injection's time, in seconds (null: none) */
  readonly onset_error_s: number | null;
  readonly top: readonly {
    readonly service: string;
    readonly instance: string | null;
    readonly score: number;
    readonly mechanism: string | null;
  }[];
  readonly analysis_ms: number;
}

/**
 * What each scenario's top cause must say, matched against the mechanism forensics names (the
 * wording of ../shared/SCENARIOS.md's catalogue rows).
 */
const EXPECTED_MECHANISM: Readonly<Record<string, { readonly label: string; readonly match: RegExp }>> = {
  'leak-cascade': { label: 'memory leak → GC → ejection', match: /memory leak/i },
  'slow-external-api': { label: 'slow dependency without a timeout', match: /slow dependency/i },
  'db-network-delay': { label: 'slow database → pool saturation', match: /pool saturation/i },
  'retry-storm': { label: 'retry storm', match: /retry storm/i },
  'deep-health-check': { label: 'deep health check', match: /deep health check/i },
  'pool-exhaustion': { label: 'connection pool saturation', match: /pool saturation/i },
  'batch-job-at-peak': { label: 'background job at peak', match: /background job/i },
};

type RankedCause = {
  readonly service: string;
  readonly instance: string | null;
  readonly mechanism: string | null;
};

/**
 * Where the true place ranks among `causes`, and whether the first cause names both the place and
 * the mechanism `scenario` reproduces. A hardened run is built so that the mechanism does not
 * happen (the trigger is injected, the cascade is contained): there only the place is judged.
 * @example judgeCauses('retry-storm', { service: 'postgres', instance: null }, causes).top_correct
 */
export function judgeCauses(
  scenario: string,
  truth: RecordingScore['truth'],
  causes: readonly RankedCause[],
  mode = 'baseline',
): Pick<RecordingScore, 'rank' | 'expected_mechanism' | 'top_correct'> {
  const isTruth = (c: RankedCause) =>
    truth.instance !== null ? c.instance === truth.instance : c.service === truth.service;
  const index = causes.findIndex(isTruth);
  const expected = mode === 'hardened' ? undefined : EXPECTED_MECHANISM[scenario];
  const first = causes[0];
  return {
    rank: index < 0 ? null : index + 1,
    expected_mechanism: expected?.label ?? null,
    top_correct:
      first !== undefined &&
      isTruth(first) &&
      (expected === undefined || expected.match.test(first.mechanism ?? '')),
  };
}

/**
 * Runs the forensics engine on each mode's bundle, exactly as a user would on their own telemetry,
 * and scores its ranking against the injections. The bundle's events include the injections (a
 * chaos tool's log would too): they show in the timeline, and no ranking or mechanism rule reads
 * them (those match ejections, failed health checks and crashes only). The lab and
 * forensics stay independent: this glue lives in the CLI. Writes `forensics.json` and adds a
 * `forensics` section to `summary.json`.
 */
export async function scoreRecordings(runDir: string, summary: LabSummary): Promise<RecordingScore[]> {
  const forensics = await import('@faultline/forensics');
  const scores: RecordingScore[] = [];
  for (const mode of Object.keys(summary.modes)) {
    const injected = summary.ground_truth.find((e) => e.mode === mode && e.kind === 'fault.injected');
    if (injected === undefined) continue;
    const truth = {
      service: String(injected.service ?? 'unknown'),
      instance: typeof injected.instance === 'string' ? injected.instance : null,
    };
    const started = performance.now();
    const { store } = await forensics.investigate([join(runDir, mode)], {});
    try {
      const analysis = await forensics.analyze(store, {});
      const incident = analysis.incidents[0];
      const causes = incident?.causes ?? [];
      const injectedMs = Date.parse(String(injected.time));
      scores.push({
        mode,
        truth,
        ...judgeCauses(summary.scenario, truth, causes, mode),
        incidents: analysis.incidents.length,
        onset_error_s:
          incident === undefined || !Number.isFinite(injectedMs)
            ? null
            : Math.round(incident.onsetMs - injectedMs) / 1000,
        top: causes.slice(0, 3).map((c) => ({
          service: c.service,
          instance: c.instance,
          score: Math.round(c.score * 100) / 100,
          mechanism: c.mechanism,
        })),
        analysis_ms: Math.round(performance.now() - started),
      });
    } finally {
      await store.close();
    }
  }
  writeFileSync(join(runDir, 'forensics.json'), `${JSON.stringify(scores, null, 2)}\n`);
  const file = join(runDir, 'summary.json');
  const current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, `${JSON.stringify({ ...current, forensics: scores }, null, 2)}\n`);
  return scores;
}

/** One line per mode for the terminal. */
export function formatScores(scores: readonly RecordingScore[]): string {
  return scores
    .map((s) => {
      const top = s.top[0];
      const named =
        top === undefined
          ? 'no incident found'
          : `${top.instance ?? top.service}${top.mechanism === null ? '' : ` — ${top.mechanism}`}`;
      const truth = s.truth.instance ?? s.truth.service;
      const expected = s.expected_mechanism === null ? '' : ` (${s.expected_mechanism})`;
      const verdict = s.top_correct ? ' ✓' : '';
      const onset =
        s.onset_error_s === null
          ? ''
          : `; onset ${s.onset_error_s >= 0 ? '+' : ''}${s.onset_error_s.toFixed(1)} s from the injection`;
      return `investigate (${s.mode}): top cause ${named}; injected into ${truth}${expected}: ${s.rank === null ? 'not ranked' : `rank ${s.rank}`}${verdict}${onset}`;
    })
    .join('\n');
}
