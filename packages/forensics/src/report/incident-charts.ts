/**
 * The chart data of the HTML report: for each incident, the evidence signals of its top causes as
 * time series over the incident window plus a margin, each with its onset. The analysis keeps
 * only onsets, so the signals are rebuilt from the store on the same grids it used.
 */
import type { Analysis, SignalOnset } from '../analysis/analysis-types.js';
import { incidentSignalsOf, signalsOf } from '../analysis/analyze.js';
import { eventStepMs } from '../analysis/event-step.js';
import { logSignals } from '../analysis/log-signals.js';
import { metricSignals } from '../analysis/metric-signals.js';
import type { Signal } from '../analysis/signal.js';
import { spanSignals } from '../analysis/span-signals.js';
import type { TelemetryStore } from '../store/telemetry-store.js';

/** One signal of one incident, ready to plot: times in epoch ms, `null` where nothing was measured. */
export interface ChartSeries {
  readonly signalId: string;
  readonly service: string;
  readonly name: string;
  readonly source: SignalOnset['source'];
  readonly kind: SignalOnset['kind'];
  readonly stepMs: number;
  readonly timesMs: readonly number[];
  readonly values: ReadonlyArray<number | null>;
  readonly onsetMs: number;
  readonly direction: 'up' | 'down';
  readonly z: number;
}

export interface IncidentCharts {
  /** The plotted range: the incident window plus the margin. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly series: readonly ChartSeries[];
}

export interface IncidentChartsOptions {
  /** Causes whose evidence is plotted; default 3. */
  readonly causes?: number;
  /** Signals plotted per cause; default 3. */
  readonly perCause?: number;
  /** Time shown before and after the window; default: half the window, at least 2 minutes. */
  readonly marginMs?: number;
}

type Row = Record<string, unknown>;
const num = (r: Row | undefined, k: string): number => {
  const v = r?.[k];
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
};

// The same grid as the analysis (analyze.ts) puts span and log signals on.
async function eventSignals(store: TelemetryStore): Promise<Signal[]> {
  const rows = await store.query(`
    SELECT min(lo) AS lo, max(hi) AS hi, sum(n)::DOUBLE AS n FROM (
      SELECT min(start_ms) lo, max(start_ms) hi, count(*) n FROM spans
      UNION ALL SELECT min(t_ms), max(t_ms), count(*) FROM logs)`);
  const lo = num(rows[0], 'lo');
  const hi = num(rows[0], 'hi');
  const n = num(rows[0], 'n');
  if (!Number.isFinite(lo) || !(n > 0)) return [];
  const stepMs = eventStepMs(n, Math.max(1000, hi - lo));
  const startMs = Math.floor(lo / stepMs) * stepMs;
  const length = Math.floor((hi - startMs) / stepMs) + 1;
  return [
    ...(await spanSignals(store, startMs, stepMs, length)),
    ...(await logSignals(store, startMs, stepMs, length)),
  ];
}

function cut(signal: Signal, onset: SignalOnset, fromMs: number, toMs: number): ChartSeries {
  const first = Math.max(0, Math.floor((fromMs - signal.startMs) / signal.stepMs));
  const last = Math.min(signal.values.length - 1, Math.floor((toMs - signal.startMs) / signal.stepMs));
  const timesMs: number[] = [];
  const values: (number | null)[] = [];
  for (let i = first; i <= last; i++) {
    const v = signal.values[i] as number;
    timesMs.push(signal.startMs + i * signal.stepMs);
    values.push(Number.isFinite(v) ? v : null);
  }
  return {
    signalId: signal.id,
    service: signal.service,
    name: onset.template === undefined ? signal.name : `log "${onset.template.slice(0, 120)}"`,
    source: signal.source,
    kind: signal.kind,
    stepMs: signal.stepMs,
    timesMs,
    values,
    onsetMs: onset.onsetMs,
    direction: onset.direction,
    z: onset.z,
  };
}

/**
 * The key signals of each incident as plottable series (one entry per incident, same order).
 * @example const charts = await incidentCharts(store, await analyze(store));
 */
export async function incidentCharts(
  store: TelemetryStore,
  analysis: Analysis,
  options: IncidentChartsOptions = {},
): Promise<IncidentCharts[]> {
  if (analysis.incidents.length === 0) return [];
  const wanted = analysis.incidents.map((incident) => {
    const onsets: SignalOnset[] = [];
    const seen = new Set<string>();
    for (const cause of incident.causes.slice(0, options.causes ?? 3))
      for (const e of cause.evidence.slice(0, options.perCause ?? 3))
        if (!seen.has(e.signalId)) {
          seen.add(e.signalId);
          onsets.push(e);
        }
    return onsets;
  });
  const ids = new Set(wanted.flat().map((o) => o.signalId));
  const hasMetric = wanted.flat().some((o) => o.source === 'metric');
  const hasEvent = wanted.flat().some((o) => o.source !== 'metric');
  const signals = new Map<string, Signal>();
  // The analysis made in this process kept its signals: cut the charts from those.
  const computed = signalsOf(analysis) ?? [
    ...(hasMetric ? (await metricSignals(store)).signals : []),
    ...(hasEvent ? await eventSignals(store) : []),
  ];
  for (const s of computed) if (ids.has(s.id)) signals.set(s.id, s);
  return analysis.incidents.map((incident, k) => {
    const { fromMs, toMs } = incident.window;
    const margin = options.marginMs ?? Math.max(120_000, Math.round((toMs - fromMs) / 2));
    const from = fromMs - margin;
    const to = toMs + margin;
    const series: ChartSeries[] = [];
    // an incident read again on a finer grid is charted on that grid
    const own = incidentSignalsOf(incident);
    const ownById = own === undefined ? undefined : new Map(own.map((s) => [s.id, s]));
    for (const onset of wanted[k] ?? []) {
      const signal = ownById?.get(onset.signalId) ?? signals.get(onset.signalId);
      if (signal !== undefined) series.push(cut(signal, onset, from, to));
    }
    return { fromMs: from, toMs: to, series };
  });
}
