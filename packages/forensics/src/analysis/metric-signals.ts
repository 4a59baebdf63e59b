/**
 * Metric series as signals: resampled to one common step (the finest native resolution among the
 * series, so nothing is averaged away), counters turned into rates, and each classified by name
 * into a kind with the direction in which it gets worse.
 */
import type { MetricSeries } from '../store/store-queries.js';
import type { TelemetryStore } from '../store/telemetry-store.js';
import type { Direction } from './change-point.js';
import { DEPENDENCY_LABELS } from './label-edges.js';
import type { Signal, SignalKind } from './signal.js';

interface Classification {
  readonly kind: SignalKind;
  readonly bad: Direction;
  readonly health: boolean;
}

const RULES: ReadonlyArray<readonly [RegExp, Classification]> = [
  [/success|availab|healthy|(^|_)up$/i, { kind: 'availability', bad: 'down', health: true }],
  [/error|fail|5xx|exception|reject|timeout/i, { kind: 'errors', bad: 'up', health: true }],
  [/eventloop|event_loop|lag/i, { kind: 'latency', bad: 'up', health: false }],
  [
    /latenc|duration|response_time|_seconds(_p\d+)?$|p9\d|quantile/i,
    { kind: 'latency', bad: 'up', health: true },
  ],
  [/gc/i, { kind: 'gc', bad: 'up', health: false }],
  [/cpu|thrott/i, { kind: 'cpu', bad: 'up', health: false }],
  [/mem|heap|rss/i, { kind: 'memory', bad: 'up', health: false }],
  // what is left of a pool (idle connections, free slots) shrinks as it saturates
  [/idle|free/i, { kind: 'saturation', bad: 'down', health: false }],
  [
    /pool|waiting|queue|in_?flight|pending|connections|threads|saturat|active_(handles|resources|requests)/i,
    { kind: 'saturation', bad: 'up', health: false },
  ],
  [
    /request|workload|ops|throughput|bytes|packets|syscall|count|rate/i,
    { kind: 'traffic', bad: 'both', health: false },
  ],
];

/** The kind and bad direction of a metric, from its name (and a `stat`/`quantile` label). */
export function classifyMetric(name: string): Classification {
  for (const [re, c] of RULES) if (re.test(name)) return c;
  return { kind: 'other', bad: 'both', health: false };
}

/** Scrape intervals people configure: a measured step within 2 % of one is that one. */
const NOMINAL_STEPS_MS = [1000, 2000, 5000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000];

/**
 * Median gap between consecutive samples: a series' own resolution, snapped to the nominal scrape
 * interval it jitters around (999 ms → 1 s), so that grids of metrics and of spans line up.
 */
export function nativeStepMs(times: Float64Array): number {
  if (times.length < 2) return Number.NaN;
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) gaps.push((times[i] as number) - (times[i - 1] as number));
  gaps.sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1] as number;
  const nominal = NOMINAL_STEPS_MS.find((n) => Math.abs(median - n) <= 0.02 * n);
  return nominal ?? median;
}

const COUNTER = /(_total|_count|_sum)$/;

/**
 * Whether a series named like a counter behaves as one: it never falls except where it restarts
 * from (near) zero, as a counter of a process that restarted does, and it rose at all. A level
 * that only happens to be named `_count` falls now and then by less than that.
 */
function isCounter(values: Float64Array): boolean {
  if (values.length <= 2) return false;
  let rose = false;
  for (let i = 1; i < values.length; i++) {
    const prev = values[i - 1] as number;
    const v = values[i] as number;
    if (v > prev) rose = true;
    else if (v < prev && v > 0.5 * prev) return false;
  }
  return rose;
}
/** A series' labels as text (sorted), to pair the `_sum` and `_count` of one histogram or summary. */
function labelsKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/**
 * The mean of what a histogram or summary observed in each step: the growth of its `_sum` over the
 * growth of its `_count` (Prometheus's `rate(x_sum) / rate(x_count)`), NaN where nothing was
 * observed. Unlike either series alone, it does not rise with traffic.
 */
export function meanOfFamily(sum: Float64Array, count: Float64Array): Float64Array {
  const out = new Float64Array(sum.length).fill(Number.NaN);
  for (let i = 0; i < sum.length; i++) {
    const s = sum[i] as number;
    const c = count[i] as number;
    if (Number.isFinite(s) && Number.isFinite(c) && c > 0) out[i] = s / c;
  }
  return out;
}

/** Label text shown in a signal id, without the service and instance labels already known. */
function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels)
    .filter(([k]) => !['service', 'pod', 'instance', 'job', 'app', 'container', 'namespace'].includes(k))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/**
 * Every metric series resampled onto a grid of `stepMs` from `startMs` (last value per bucket,
 * carried forward across gaps shorter than the series' own step).
 */
export function resampleSeries(
  series: MetricSeries,
  startMs: number,
  stepMs: number,
  length: number,
): Float64Array {
  const out = new Float64Array(length).fill(Number.NaN);
  let times = series.timesMs;
  let values = series.values;
  if (COUNTER.test(series.name) && isCounter(values)) {
    const rt: number[] = [];
    const rv: number[] = [];
    for (let i = 1; i < values.length; i++) {
      const dt = ((times[i] as number) - (times[i - 1] as number)) / 1000;
      if (dt > 0) {
        const v = values[i] as number;
        const prev = values[i - 1] as number;
        rt.push(times[i] as number);
        // a fall is a restart (as Prometheus's rate() reads it): counted again from zero
        rv.push((v >= prev ? v - prev : v) / dt);
      }
    }
    times = Float64Array.from(rt);
    values = Float64Array.from(rv);
  }
  for (let i = 0; i < times.length; i++) {
    const b = Math.floor(((times[i] as number) - startMs) / stepMs);
    if (b >= 0 && b < length) out[b] = values[i] as number;
  }
  const own = nativeStepMs(times);
  const carry = Number.isFinite(own) ? Math.max(0, Math.round(own / stepMs) - 1) : 0;
  if (carry > 0) {
    let last = Number.NaN;
    let age = 0;
    for (let i = 0; i < length; i++) {
      if (Number.isFinite(out[i] as number)) {
        last = out[i] as number;
        age = 0;
      } else if (Number.isFinite(last) && age < carry) {
        out[i] = last;
        age++;
      }
    }
  }
  return out;
}

export interface MetricSignals {
  readonly signals: Signal[];
  /** The common step (finest native resolution), or NaN without metrics. */
  readonly stepMs: number;
}

/** Kinds whose series are absent, not unknown, before their first sample (counts and levels). */
const ZERO_BEFORE_BIRTH: ReadonlySet<SignalKind> = new Set(['other', 'traffic', 'errors', 'saturation']);

/** All metric series of the store as signals on one grid. */
export async function metricSignals(store: TelemetryStore): Promise<MetricSignals> {
  const all = await store.queries.metricSeries();
  const usable = all.filter((s) => s.timesMs.length >= 3 && !s.name.endsWith('_bucket'));
  if (usable.length === 0) return { signals: [], stepMs: Number.NaN };
  const steps = usable.map((s) => nativeStepMs(s.timesMs)).filter((x) => x > 0);
  steps.sort((a, b) => a - b);
  const stepMs = Math.max(1, steps[0] ?? 1000);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of usable) {
    lo = Math.min(lo, s.timesMs[0] as number);
    hi = Math.max(hi, s.timesMs[s.timesMs.length - 1] as number);
  }
  const startMs = Math.floor(lo / stepMs) * stepMs;
  const length = Math.floor((hi - startMs) / stepMs) + 1;
  // When each instance (else service) was first scraped: a series that appears later is new.
  const firstSeen = new Map<string, number>();
  const ownerOf = (s: (typeof usable)[number]) => s.instance ?? s.service ?? '';
  for (const s of usable) {
    const key = ownerOf(s);
    firstSeen.set(key, Math.min(firstSeen.get(key) ?? Number.POSITIVE_INFINITY, s.timesMs[0] as number));
  }
  // histograms and summaries: a `_count` beside a `_sum` of the same labels counts observations
  const sums = new Map<string, (typeof usable)[number]>();
  for (const s of usable)
    if (s.name.endsWith('_sum')) sums.set(`${s.name.slice(0, -4)}|${labelsKey(s.labels)}`, s);
  // A caller's series about a dependency that has no metrics of its own (its calls to an external
  // API, a database) speaks for that dependency, as a client span to an uninstrumented peer does.
  const measured = new Set(usable.flatMap((s) => (s.service === null ? [] : [s.service])));
  const dependencyOf = (s: (typeof usable)[number]): string | undefined => {
    for (const key of DEPENDENCY_LABELS) {
      const v = s.labels[key];
      if (v !== undefined && v !== '' && v !== s.service && !measured.has(v)) return v;
    }
    return undefined;
  };
  const signals: Signal[] = [];
  for (const s of usable) {
    const dependency = dependencyOf(s);
    const service = dependency ?? s.service ?? s.instance ?? s.labels.__name__ ?? s.name;
    const who =
      dependency === undefined
        ? { instance: s.instance }
        : { instance: null, ...(s.service === null ? {} : { caller: s.service }) };
    const stat = s.labels.stat ?? s.labels.quantile ?? '';
    const base = s.name.endsWith('_count') ? s.name.slice(0, -6) : undefined;
    const sum = base === undefined ? undefined : sums.get(`${base}|${labelsKey(s.labels)}`);
    // How many requests a duration histogram observed is traffic, not latency (its name says
    // "duration"); its latency is the mean (below), which does not rise with traffic.
    const c =
      sum !== undefined && classifyMetric(base ?? '').kind !== 'errors'
        ? { kind: 'traffic' as const, bad: 'both' as const, health: false }
        : classifyMetric(`${s.name}${stat === '' ? '' : `_${stat}`}`);
    const values = resampleSeries(s, startMs, stepMs, length);
    // A latency quantile of exactly 0 is a minute without requests (exporters write 0 where a
    // quantile is undefined), not an instant answer: it must not become the baseline a real
    // latency is measured against.
    if (c.kind === 'latency' && c.health)
      for (let i = 0; i < length; i++) if (values[i] === 0) values[i] = Number.NaN;
    // A count or level that only appears later (a job's first run, the first error of a kind:
    // exporters create a labelled series on first use) was zero before, while its instance was
    // already scraped: without that baseline its appearance could not count as a change at all.
    const born = s.timesMs[0] as number;
    const seen = firstSeen.get(ownerOf(s)) ?? born;
    if (ZERO_BEFORE_BIRTH.has(c.kind) && born - seen >= 5 * stepMs) {
      const from = Math.max(0, Math.floor((seen - startMs) / stepMs));
      const to = Math.min(length, Math.floor((born - startMs) / stepMs));
      for (let i = from; i < to; i++) if (!Number.isFinite(values[i] as number)) values[i] = 0;
    }
    signals.push({
      id: `metric ${s.name}${labelText(s.labels)}${s.instance === null ? '' : `@${s.instance}`}`,
      service,
      ...who,
      source: 'metric',
      kind: c.kind,
      name: `${s.name}${labelText(s.labels)}`,
      startMs,
      stepMs,
      values,
      bad: c.bad,
      health: c.health,
      countData: false,
    });
    if (sum !== undefined && base !== undefined) {
      const mean = meanOfFamily(resampleSeries(sum, startMs, stepMs, length), values);
      const m = classifyMetric(base);
      signals.push({
        id: `metric ${base}_mean${labelText(s.labels)}${s.instance === null ? '' : `@${s.instance}`}`,
        service,
        ...who,
        source: 'metric',
        kind: m.kind,
        name: `${base}_mean${labelText(s.labels)}`,
        startMs,
        stepMs,
        values: mean,
        bad: m.bad,
        health: m.health,
        countData: false,
      });
    }
  }
  return { signals, stepMs };
}
