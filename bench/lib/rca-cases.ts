/**
 * Labelled incident cases for the root-cause benchmark: each folder of a dataset holds telemetry
 * and a `label.json` with the true root-cause service and injection time. Scoring helpers follow
 * the papers' definitions: AC@k = share of cases whose true service is among the first k;
 * Avg@k = mean of AC@1…AC@k.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RcaCase {
  readonly name: string;
  readonly dir: string;
  readonly rootCause: string;
  readonly faultType: string;
  readonly injectMs: number;
}

/** The cases of a dataset folder (one sub-folder with a label.json each), sorted by name. */
export function loadCases(root: string): RcaCase[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(root, name);
      const label = JSON.parse(readFileSync(join(dir, 'label.json'), 'utf8')) as {
        root_cause_service: string;
        fault_type: string;
        inject_time_utc: string;
      };
      return {
        name,
        dir,
        rootCause: label.root_cause_service,
        faultType: label.fault_type,
        injectMs: Date.parse(label.inject_time_utc),
      };
    });
}

/** 1-based rank of `truth` in `ranked`, or 0 when absent. */
export function rankOf(ranked: readonly string[], truth: string): number {
  return ranked.indexOf(truth) + 1;
}

/** AC@k in percent over ranks (0 = not found). */
export function acAt(ranks: readonly number[], k: number): number {
  if (ranks.length === 0) return 0;
  return (100 * ranks.filter((r) => r >= 1 && r <= k).length) / ranks.length;
}

/** Avg@k as a fraction: mean of AC@1…AC@k. */
export function avgAt(ranks: readonly number[], k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += acAt(ranks, i) / 100;
  return sum / k;
}
