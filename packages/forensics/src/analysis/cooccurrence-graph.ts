/**
 * A dependency graph for the cascade when there are no traces (metrics only, logs without trace
 * ids): inferred from the order in which services' signals left their baselines in the incident.
 * A fault spreads from a callee to the callers that wait on it, so a service whose signals
 * consistently moved after another's (most pairs of their onsets agree, beyond the data's
 * resolution) is drawn as its caller. This is a guess from timing, not an observed call: the
 * report names it as such (`dependencySource: 'co-occurrence'`), and the ranking does not use it.
 */
import type { SignalOnset } from './analysis-types.js';

export interface InferredEdge {
  /** The service that moved later (the one that would have waited). */
  readonly caller: string;
  /** The service that moved first. */
  readonly callee: string;
  /** Pairs of onsets (one signal of each service) that moved in this order. */
  readonly count: number;
  /** Median delay from the callee's onsets to the caller's, ms. */
  readonly lagMs: number;
}

export interface CooccurrenceOptions {
  /** Only signals at least this far from their baseline (σ); default 5. */
  readonly minZ?: number;
  /** Onsets further apart than this are not one cascade; default 5 minutes. */
  readonly maxLagMs?: number;
  /** Fewest agreeing pairs of onsets for an edge; default 2. */
  readonly minPairs?: number;
  /** Share of a pair of services' onset pairs that must agree on the order; default 0.7. */
  readonly agreement?: number;
  /** Services considered, most anomalous first; default 12. */
  readonly maxServices?: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Caller → callee edges inferred from consistent onset order among the incident's services.
 * @example cooccurrenceEdges(onsets)[0] // { caller: 'front-end', callee: 'carts', count: 4, lagMs: 3000 }
 */
export function cooccurrenceEdges(
  onsets: readonly SignalOnset[],
  options: CooccurrenceOptions = {},
): InferredEdge[] {
  const minZ = options.minZ ?? 5;
  const maxLagMs = options.maxLagMs ?? 5 * 60_000;
  const minPairs = options.minPairs ?? 2;
  const agreement = options.agreement ?? 0.7;
  const byService = new Map<string, SignalOnset[]>();
  for (const o of onsets) {
    if (!(o.z >= minZ)) continue;
    const list = byService.get(o.service);
    if (list === undefined) byService.set(o.service, [o]);
    else list.push(o);
  }
  const strength = (list: readonly SignalOnset[]) => list.reduce((s, o) => s + Math.log1p(o.z), 0);
  const services = [...byService.entries()]
    .sort((a, b) => strength(b[1]) - strength(a[1]) || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.maxServices ?? 12);
  const edges = new Map<string, InferredEdge>();
  for (const [a, la] of services)
    for (const [b, lb] of services) {
      if (a >= b) continue;
      // lag > 0: b moved after a, by more than the coarser of the two resolutions.
      const after: number[] = [];
      const before: number[] = [];
      let together = 0;
      for (const x of la)
        for (const y of lb) {
          const lag = y.onsetMs - x.onsetMs;
          if (Math.abs(lag) > maxLagMs) continue;
          const resolution = Math.max(x.stepMs, y.stepMs);
          if (lag >= resolution) after.push(lag);
          else if (-lag >= resolution) before.push(-lag);
          else together++;
        }
      const total = after.length + before.length + together;
      if (total === 0) continue;
      if (after.length >= minPairs && after.length >= agreement * total)
        edges.set(`${b}\u0000${a}`, { caller: b, callee: a, count: after.length, lagMs: median(after) });
      else if (before.length >= minPairs && before.length >= agreement * total)
        edges.set(`${a}\u0000${b}`, { caller: a, callee: b, count: before.length, lagMs: median(before) });
    }
  // A → B → C already says A waits (indirectly) on C: drop the shortcut A → C.
  const out: InferredEdge[] = [];
  for (const e of edges.values()) {
    let shortcut = false;
    for (const mid of edges.values())
      if (mid.caller === e.caller && mid.callee !== e.callee && edges.has(`${mid.callee}\u0000${e.callee}`)) {
        shortcut = true;
        break;
      }
    if (!shortcut) out.push(e);
  }
  return out.sort(
    (x, y) =>
      y.count - x.count ||
      (x.caller < y.caller ? -1 : x.caller > y.caller ? 1 : x.callee < y.callee ? -1 : 1),
  );
}
