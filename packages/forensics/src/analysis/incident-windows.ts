/**
 * Incident windows, found without being told: every signal's strongest departure from its
 * baseline (in its bad direction) is an onset; onsets that bunch together in time form an
 * incident, weighted by how strongly and in how many kinds of evidence (metrics, spans, logs) the
 * system moved. Several bunches far apart are several incidents. Given `around`, only departures
 * near that time are considered.
 */
import { detectChangePoint } from './change-point.js';
import { isSevereTemplate } from './log-signals.js';
import { type Signal, type SignalSource, timeOf } from './signal.js';

/** The signal whose departure dates an incident. */
export interface OnsetSignal {
  readonly service: string;
  readonly name: string;
  readonly source: SignalSource;
  readonly z: number;
}

export interface IncidentWindow {
  /** When the incident began: its first strong departure, chained back from the bulk of them. */
  readonly onsetMs: number;
  /** What moved at `onsetMs`. */
  readonly onsetBy: OnsetSignal;
  readonly fromMs: number;
  /**
   * Where the bulk of the departures begins: the evidence is weighed from here (what came before
   * is baseline), since exports of traces often hold only a minute or two before the incident.
   */
  readonly evidenceFromMs: number;
  readonly toMs: number;
  readonly severity: number;
}

export interface FindIncidentsOptions {
  /** Only look for departures within `radiusMs` of this time. */
  readonly aroundMs?: number;
  readonly radiusMs?: number;
  /** Onsets closer than this belong to one incident; default max(60 s, 3 steps). */
  readonly gapMs?: number;
  /** Most incidents returned; default 5. */
  readonly max?: number;
}

interface Onset {
  readonly t: number;
  readonly signal: OnsetSignal;
  readonly w: number;
  readonly source: string;
  readonly step: number;
  readonly z: number;
  /** One symptom seen through several series (p90, p95, p99 of one latency): service|kind|source. */
  readonly family: string;
}

/**
 * Weight of a bunch of onsets: the strongest of each family counts fully, its copies a quarter,
 * so that one pod's three latency quantiles or a host metric repeated for every pod on the host
 * do not outvote distinct symptoms elsewhere.
 */
function bunchWeight(bunch: readonly Onset[]): number {
  const best = new Map<string, number>();
  let sum = 0;
  for (const o of bunch) {
    const b = best.get(o.family);
    if (b === undefined) best.set(o.family, o.w);
    else {
      sum += 0.25 * Math.min(b, o.w);
      if (o.w > b) best.set(o.family, o.w);
    }
  }
  for (const w of best.values()) sum += w;
  return sum;
}

/** A departure this strong (robust z) times an incident, not only weighs it. */
const STRONG_Z = 8;

/**
 * The earliest strong onset chained to `first` backwards, each link at most one bucket (of either
 * signal) before the next: the bunch that outweighs the rest is often the victims' (many callers
 * slowing at once), one bucket after the origin's own signals left their baseline.
 */
function extendBack(first: Onset, onsets: readonly Onset[]): Onset {
  const maxStep = Math.max(...onsets.map((o) => o.step));
  let cur = first;
  for (let k = onsets.length - 1; k >= 0; k--) {
    const o = onsets[k] as Onset;
    if (o.t >= cur.t) continue;
    if (cur.t - o.t > maxStep) break;
    if (o.z >= STRONG_Z && cur.t - o.t <= Math.max(o.step, cur.step)) cur = o;
  }
  return cur;
}

/** Minimum points before a split for a baseline: 3, or 5 on long series. */
function minSegment(length: number): number {
  return length >= 60 ? 5 : 2;
}

/**
 * Least baseline, in time, before a change in a span or log signal can be called. Exports of logs
 * and traces start at an arbitrary cut in the middle of the traffic, and their first buckets are
 * estimated from few events: two buckets of a sparse service's spans are no baseline, and would
 * otherwise read as the incident. Metrics are sampled steadily by the monitoring system: their
 * own minimum of points applies.
 */
export const MIN_BASELINE_MS = 30_000;

/** The first index a change may start at in a series of `stepMs` from `source`. */
export function firstSplit(stepMs: number, from = 0, source: SignalSource = 'span'): number {
  return source === 'metric' ? from : Math.max(from, Math.ceil(MIN_BASELINE_MS / stepMs));
}

/**
 * Least baseline of a metric series before a change in it can open an incident: five of its
 * points and ten seconds at least, counted from its first point (a series that starts with the
 * service, or with the load, first shows the service warming up).
 */
function metricWarmUp(s: Signal): number {
  let first = 0;
  while (first < s.values.length && !Number.isFinite(s.values[first] as number)) first++;
  return first + Math.max(5, Math.ceil(10_000 / s.stepMs));
}

/** A cheap fingerprint of a series' values (NaN-safe), to recognise one series under several labels. */
function fingerprint(values: Float64Array): string {
  let h = 2166136261;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const x = Number.isFinite(v) ? Math.round(v * 1e6) : -1;
    h = Math.imul(h ^ (x | 0), 16777619);
    h = Math.imul(h ^ ((x / 4294967296) | 0), 16777619);
  }
  return `${values.length}:${h >>> 0}`;
}

/** Onsets of the given signals (strongest change of each, in its bad direction). */
function onsetsOf(signals: readonly Signal[], options: FindIncidentsOptions): Onset[] {
  const out: Onset[] = [];
  // A host's metric exported once per pod on the host is one series under many labels: one
  // family, however many services it is filed under.
  const copies = new Map<string, number>();
  const prints = signals.map((s) => `${s.name}|${fingerprint(s.values)}`);
  for (const p of prints) copies.set(p, (copies.get(p) ?? 0) + 1);
  for (const [k, s] of signals.entries()) {
    // Info-level log templates come and go with the mix of work (a burst of one user's session):
    // evidence about a service once there is an incident, not a sign of one.
    if (s.kind === 'log-template' && !isSevereTemplate(s.name)) continue;
    const print = prints[k] as string;
    let from = s.source === 'metric' ? metricWarmUp(s) : firstSplit(s.stepMs, 0, s.source);
    let to: number | undefined;
    if (options.aroundMs !== undefined) {
      const r = options.radiusMs ?? Math.max(15 * 60_000, 20 * s.stepMs);
      from = Math.max(
        s.source === 'metric' ? metricWarmUp(s) : 0,
        firstSplit(s.stepMs, Math.floor((options.aroundMs - r - s.startMs) / s.stepMs), s.source),
      );
      to = Math.ceil((options.aroundMs + r - s.startMs) / s.stepMs);
    }
    const seg = minSegment(s.values.length);
    const cp = detectChangePoint(s.values, {
      direction: s.bad,
      countData: s.countData,
      minScale: s.minScale ?? 0,
      minSegment: seg,
      horizon: Math.max(seg, 5),
      threshold: 5,
      observations: s.source === 'metric',
      from,
      ...(to === undefined ? {} : { to }),
    });
    if (cp === undefined) continue;
    const w = Math.log1p(Math.min(cp.score, 1000)) * (s.health ? 1 : 0.5);
    out.push({
      t: timeOf(s, cp.index),
      signal: { service: s.service, name: s.name, source: s.source, z: Math.round(cp.score * 10) / 10 },
      w,
      source: s.source,
      step: s.stepMs,
      z: cp.score,
      family: (copies.get(print) ?? 0) > 1 ? print : `${s.service}|${s.kind}|${s.source}`,
    });
  }
  return out.sort((a, b) => a.t - b.t);
}

/**
 * Incident windows in `signals`, most severe first.
 * @example findIncidents(signals)[0]?.onsetMs
 */
export function findIncidents(
  signals: readonly Signal[],
  options: FindIncidentsOptions = {},
): IncidentWindow[] {
  if (signals.length === 0) return [];
  let dataEnd = Number.NEGATIVE_INFINITY;
  for (const s of signals) dataEnd = Math.max(dataEnd, timeOf(s, s.values.length));
  // Every signal votes; user-visible health signals (errors, latency, availability) count double.
  const onsets = onsetsOf(signals, options);
  if (onsets.length === 0) return [];
  // Densest bunches of onsets first: a fixed-length window slid over the onsets (no chaining, so
  // a noisy hour does not merge into one incident); each pick removes its onsets.
  const left = [...onsets];
  const windows: Array<{
    onsetMs: number;
    onsetBy: OnsetSignal;
    bulkMs: number;
    severity: number;
    step: number;
    last: Onset;
  }> = [];
  while (left.length > 0 && windows.length < (options.max ?? 5) * 2) {
    let best: { i: number; j: number; severity: number } | undefined;
    for (let i = 0; i < left.length; i++) {
      const first = left[i] as Onset;
      const gap = options.gapMs ?? Math.max(60_000, 2 * first.step);
      const sources = new Set<string>();
      let j = i;
      for (; j < left.length && (left[j] as Onset).t - first.t <= gap; j++)
        sources.add((left[j] as Onset).source);
      const severity = bunchWeight(left.slice(i, j)) * sources.size;
      if (best === undefined || severity > best.severity) best = { i, j, severity };
    }
    if (best === undefined) break;
    const c = left.splice(best.i, best.j - best.i);
    const strong = c.filter((o) => o.z >= STRONG_Z);
    const pool = strong.length > 0 ? strong : c;
    // The incident begins where the system moved, not at a lone blip ahead of it: its first strong
    // departure that another symptom (another family) followed within a few steps.
    const near = (o: Onset) => Math.max(3 * o.step, 10_000);
    const anchor =
      pool.find((o) => pool.some((p) => p.family !== o.family && p.t >= o.t && p.t - o.t <= near(o))) ??
      (pool[0] as Onset);
    // A coarse bucket starts up to one step before the change; a finer signal that moved inside
    // that bucket pins the onset down.
    const pin = (first: Onset, among: readonly Onset[]): Onset => {
      const finer = among.filter((o) => o.step < first.step && o.t >= first.t && o.t < first.t + first.step);
      return finer.reduce((a, o) => (o.t < a.t ? o : a), finer[0] ?? first);
    };
    const bulk = pin(pool[0] as Onset, pool);
    const bulkMs = bulk.t;
    const pinnedAnchor = pin(anchor, pool);
    const back = pin(
      extendBack(anchor, onsets),
      onsets.filter((o) => o.z >= STRONG_Z),
    );
    const onset = back.t < pinnedAnchor.t ? back : pinnedAnchor;
    const onsetMs = onset.t;
    const step = Math.max(...c.map((o) => o.step));
    // a bunch near another incident's (its onset to its bulk) is that incident seen again
    const lo = Math.min(onsetMs, bulkMs);
    const hi = Math.max(onsetMs, bulkMs);
    const apart = (w: { onsetMs: number; bulkMs: number }) =>
      Math.max(lo, Math.min(w.onsetMs, w.bulkMs)) - Math.min(hi, Math.max(w.onsetMs, w.bulkMs)) >
      Math.max(60_000, 3 * step);
    if (windows.every(apart))
      windows.push({
        onsetMs,
        onsetBy: onset.signal,
        bulkMs,
        severity: best.severity,
        step,
        last: c[c.length - 1] as Onset,
      });
  }
  windows.sort((a, b) => a.bulkMs - b.bulkMs);
  const out: IncidentWindow[] = windows.map((w, i) => {
    const next = windows[i + 1];
    const span = Math.max(5 * 60_000, 10 * w.step, w.last.t - w.bulkMs + 3 * w.step);
    const toMs = Math.min(
      dataEnd,
      w.bulkMs + span,
      next === undefined ? Number.POSITIVE_INFINITY : next.onsetMs,
    );
    return {
      onsetMs: w.onsetMs,
      onsetBy: w.onsetBy,
      fromMs: w.onsetMs,
      evidenceFromMs: w.bulkMs,
      toMs,
      severity: w.severity,
    };
  });
  out.sort((a, b) => b.severity - a.severity);
  if (options.aroundMs !== undefined) {
    const at = options.aroundMs;
    out.sort((a, b) => Math.abs(a.onsetMs - at) - Math.abs(b.onsetMs - at) || b.severity - a.severity);
  }
  const top = out[0]?.severity ?? 0;
  return out.filter((w, i) => i === 0 || w.severity >= 0.2 * top).slice(0, options.max ?? 5);
}
