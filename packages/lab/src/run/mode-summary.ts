import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { RequestOutcome } from '../load/load-generator.js';

/** The figures of one mode, as SCENARIOS.md says resilience is judged. */
export interface ModeSummary {
  /** logical requests that succeeded within their deadline / all logical requests */
  readonly availability: number;
  /** successful logical requests per second */
  readonly goodput_rps: number;
  readonly offered_rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** HTTP attempts per logical request (work amplification) */
  readonly attempts_per_request: number;
  /** seconds from the end of the trigger until availability stayed ≥ 95 % for 5 s (0: never dipped) */
  readonly recovery_s: number | null;
  readonly recovered: boolean;
  /**
   * availability before the scenario's first step (null: no step, or no request before it); below
   * 95 %, the stack was failing before anything was injected: the offered load is past what it
   * serves on this machine, and the recording shows that overload rather than the scenario
   */
  readonly pre_trigger_availability: number | null;
  /** seconds (of the run) whose availability was below 90 % */
  readonly seconds_below_90: number;
  /** the lowest availability over any 10 s */
  readonly worst_10s_availability: number;
  /** share of successful answers that were degraded (fallbacks) */
  readonly degraded_share: number;
  readonly requests: number;
  /** availability per second of the run, index = second since the load started */
  readonly per_second: readonly {
    readonly s: number;
    readonly availability: number;
    readonly requests: number;
    readonly p99_ms: number;
    readonly attempts: number;
  }[];
}

const RECOVERED = 0.95;
const STABLE_S = 5;

/** Reads a load generator's outcomes file and computes the mode's figures. */
export async function summarizeOutcomes(
  file: string,
  loadStart: number,
  durationS: number,
  triggerEndS: number,
  triggerStartS?: number,
): Promise<ModeSummary> {
  const outcomes: RequestOutcome[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      outcomes.push(JSON.parse(line) as RequestOutcome);
    } catch {
      // a line cut by a crash: not a request we can count
    }
  }
  return summarize(outcomes, loadStart, durationS, triggerEndS, triggerStartS);
}

export function summarize(
  outcomes: readonly RequestOutcome[],
  loadStart: number,
  durationS: number,
  triggerEndS: number,
  triggerStartS?: number,
): ModeSummary {
  const buckets = Array.from({ length: durationS }, () => ({ ok: 0, n: 0, attempts: 0, ms: [] as number[] }));
  let ok = 0;
  let attempts = 0;
  let degraded = 0;
  const all: number[] = [];
  for (const o of outcomes) {
    const s = Math.floor((o.t - loadStart) / 1000);
    const b = buckets[s];
    if (b === undefined) continue;
    b.n++;
    b.attempts += o.attempts;
    b.ms.push(o.ms);
    if (o.ok) {
      b.ok++;
      ok++;
      if (o.degraded) degraded++;
    }
    attempts += o.attempts;
    all.push(o.ms);
  }
  const counted = buckets.reduce((n, b) => n + b.n, 0);
  const perSecond = buckets.map((b, s) => ({
    s,
    availability: b.n === 0 ? 1 : b.ok / b.n,
    requests: b.n,
    p99_ms: quantile(b.ms, 0.99),
    attempts: b.n === 0 ? 0 : b.attempts / b.n,
  }));
  let recoveryS: number | null = null;
  for (let s = Math.max(0, Math.floor(triggerEndS)); s + STABLE_S <= perSecond.length; s++) {
    if (perSecond.slice(s, s + STABLE_S).every((p) => p.availability >= RECOVERED)) {
      recoveryS = s - triggerEndS;
      break;
    }
  }
  let worst = 1;
  for (let s = 0; s + 10 <= buckets.length; s++) {
    const w = buckets.slice(s, s + 10);
    const n = w.reduce((x, b) => x + b.n, 0);
    if (n > 0) worst = Math.min(worst, w.reduce((x, b) => x + b.ok, 0) / n);
  }
  const before =
    triggerStartS === undefined || !Number.isFinite(triggerStartS)
      ? []
      : buckets.slice(0, Math.max(0, Math.floor(triggerStartS)));
  const beforeN = before.reduce((x, b) => x + b.n, 0);
  return {
    availability: counted === 0 ? 0 : ok / counted,
    pre_trigger_availability: beforeN === 0 ? null : before.reduce((x, b) => x + b.ok, 0) / beforeN,
    goodput_rps: ok / durationS,
    offered_rps: counted / durationS,
    p50_ms: quantile(all, 0.5),
    p99_ms: quantile(all, 0.99),
    attempts_per_request: counted === 0 ? 0 : attempts / counted,
    recovery_s: recoveryS === null ? null : Math.max(0, recoveryS),
    recovered: recoveryS !== null,
    seconds_below_90: perSecond.filter((p) => p.availability < 0.9).length,
    worst_10s_availability: worst,
    degraded_share: ok === 0 ? 0 : degraded / ok,
    requests: counted,
    per_second: perSecond,
  };
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
