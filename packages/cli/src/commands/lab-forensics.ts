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
  readonly incidents: number;
  readonly top: readonly {
    readonly service: string;
    readonly instance: string | null;
    readonly score: number;
    readonly mechanism: string | null;
  }[];
  readonly analysis_ms: number;
}

/**
 * Runs the forensics engine on each mode's bundle, exactly as a user would on their own telemetry
 * (it never sees the ground truth), and scores its ranking against the injections. The lab and
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
      const causes = analysis.incidents[0]?.causes ?? [];
      const index = causes.findIndex((c) =>
        truth.instance !== null ? c.instance === truth.instance : c.service === truth.service,
      );
      scores.push({
        mode,
        truth,
        rank: index < 0 ? null : index + 1,
        incidents: analysis.incidents.length,
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
      return `investigate (${s.mode}): top cause ${named}; injected into ${truth}: ${s.rank === null ? 'not ranked' : `rank ${s.rank}`}`;
    })
    .join('\n');
}
