/**
 * The analysis half of `faultline investigate`: signals from every kind of evidence in the store,
 * incident windows, onsets, the cascade along the dependency graph, and root-cause candidates
 * ranked with their evidence.
 */
import type { TelemetryStore } from '../store/telemetry-store.js';
import type { Analysis, Cause, Incident, LogEvidence, SignalOnset, TimelineEntry } from './analysis-types.js';
import { rankServices } from './cause-ranking.js';
import { cooccurrenceEdges } from './cooccurrence-graph.js';
import { eventStepMs } from './event-step.js';
import { eventTimeline } from './event-text.js';
import { findIncidents, type IncidentWindow } from './incident-windows.js';
import { labelEdges } from './label-edges.js';
import { logSignals } from './log-signals.js';
import { nameMechanism } from './mechanism-catalogue.js';
import { metricSignals } from './metric-signals.js';
import type { Signal, SignalKind } from './signal.js';
import { scoreSignal } from './signal-scoring.js';
import { spanSignals } from './span-signals.js';
import { virtualPeerEdges, virtualPeerTraces } from './virtual-peers.js';

export interface AnalyzeOptions {
  /** Look for the incident around this time (epoch ms), as `--around TIME`. */
  readonly aroundMs?: number;
  /** Most causes listed per incident; default 10. */
  readonly maxCauses?: number;
  /** Most incidents; default 5. */
  readonly maxIncidents?: number;
}

type Row = Record<string, unknown>;
const num = (r: Row | undefined, k: string): number => {
  const v = r?.[k];
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
};

type EventRange = { readonly fromMs: number; readonly toMs: number };
const inRange = (t: number, r: EventRange) => t >= r.fromMs && t < r.toMs;

/** A silence of the spans and logs this long splits them into ranges read apart. */
const SEGMENT_GAP_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;

/**
 * The ranges of hours holding spans or logs, split where none came for a day or more: files from
 * unrelated times (ten systems' logs, years apart) are each read on a grid of their own, instead
 * of one grid over the years between them whose buckets are too coarse to see anything. With
 * `aroundMs`, only the range holding that time (or the nearest). None when there is no split.
 */
async function eventSegments(store: TelemetryStore, aroundMs?: number): Promise<EventRange[]> {
  const rows = await store.query(`SELECT h, sum(n)::DOUBLE AS n FROM (
      SELECT floor(start_ms / ${HOUR_MS}) AS h, count(*) AS n FROM spans WHERE start_ms IS NOT NULL GROUP BY 1
      UNION ALL SELECT floor(t_ms / ${HOUR_MS}), count(*) FROM logs WHERE t_ms IS NOT NULL GROUP BY 1)
    GROUP BY h ORDER BY h`);
  let ranges: Segment[] = [];
  for (const r of rows) {
    const at = num(r, 'h') * HOUR_MS;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && at - last.toMs < SEGMENT_GAP_MS) {
      last.toMs = at + HOUR_MS;
      last.events += num(r, 'n');
    } else ranges.push({ fromMs: at, toMs: at + HOUR_MS, events: num(r, 'n') });
  }
  ranges = mergeSegments(ranges);
  if (ranges.length <= 1) return [];
  if (aroundMs === undefined) return ranges;
  const distance = (r: EventRange) =>
    inRange(aroundMs, r) ? 0 : Math.min(Math.abs(aroundMs - r.fromMs), Math.abs(aroundMs - r.toMs));
  const nearest = ranges.reduce((a, r) => (distance(r) < distance(a) ? r : a));
  return [nearest];
}

interface Segment {
  fromMs: number;
  toMs: number;
  events: number;
}

/** Fewer events than this make no range of their own: they join the nearer neighbour. */
const MIN_SEGMENT_EVENTS = 500;
/** Most ranges read apart; past it the two nearest are joined (sparse logs over months). */
const MAX_SEGMENTS = 12;

/**
 * Joins ranges too small to be read alone to their nearer neighbour, then the nearest two until
 * at most {@link MAX_SEGMENTS} are left: a log of a line every few days is one sparse range, not
 * a hundred empty ones, and the analysis' cost stays bounded.
 */
export function mergeSegments(input: readonly Segment[]): Segment[] {
  const ranges = input.map((r) => ({ ...r }));
  const gapAfter = (i: number) => (ranges[i + 1] as Segment).fromMs - (ranges[i] as Segment).toMs;
  const join = (i: number) => {
    const a = ranges[i] as Segment;
    const b = ranges[i + 1] as Segment;
    ranges.splice(i, 2, { fromMs: a.fromMs, toMs: b.toMs, events: a.events + b.events });
  };
  for (;;) {
    if (ranges.length <= 1) return ranges;
    // the smallest range first, if too small; else the nearest two, if too many
    let small = -1;
    for (let i = 0; i < ranges.length; i++)
      if (
        (ranges[i] as Segment).events < MIN_SEGMENT_EVENTS &&
        (small < 0 || (ranges[i] as Segment).events < (ranges[small] as Segment).events)
      )
        small = i;
    if (small >= 0) {
      const left = small > 0 ? gapAfter(small - 1) : Number.POSITIVE_INFINITY;
      const right = small < ranges.length - 1 ? gapAfter(small) : Number.POSITIVE_INFINITY;
      join(left <= right ? small - 1 : small);
      continue;
    }
    if (ranges.length <= MAX_SEGMENTS) return ranges;
    let nearest = 0;
    for (let i = 1; i < ranges.length - 1; i++) if (gapAfter(i) < gapAfter(nearest)) nearest = i;
    join(nearest);
  }
}

/**
 * Span and log signals on one grid over the range where spans and logs exist (or over `range`:
 * the events in it only).
 */
async function eventSignals(
  store: TelemetryStore,
  range?: EventRange,
): Promise<{ signals: Signal[]; stepMs: number | null }> {
  const within = (col: string) => (range === undefined ? '' : `WHERE ${col} >= $from AND ${col} < $to`);
  const rows = await store.query(
    `SELECT min(lo) AS lo, max(hi) AS hi, sum(n)::DOUBLE AS n FROM (
      SELECT min(start_ms) lo, max(start_ms) hi, count(*) n FROM spans ${within('start_ms')}
      UNION ALL SELECT min(t_ms), max(t_ms), count(*) FROM logs ${within('t_ms')})`,
    range === undefined ? undefined : { from: range.fromMs, to: range.toMs },
  );
  const lo = num(rows[0], 'lo');
  const hi = num(rows[0], 'hi');
  const n = num(rows[0], 'n');
  if (!Number.isFinite(lo) || !(n > 0)) return { signals: [], stepMs: null };
  const stepMs = eventStepMs(n, Math.max(1000, hi - lo));
  const startMs = Math.floor(lo / stepMs) * stepMs;
  const length = Math.floor((hi - startMs) / stepMs) + 1;
  const signals = [
    ...(await spanSignals(store, startMs, stepMs, length)),
    ...(await logSignals(store, startMs, stepMs, length)),
  ];
  return { signals, stepMs };
}

async function logEvidence(
  store: TelemetryStore,
  service: string,
  fromMs: number,
  toMs: number,
  templates: readonly string[],
): Promise<LogEvidence[]> {
  const rows = await store.query(
    `SELECT t_ms, service, level, message, trace_id FROM logs
     WHERE service = $service AND t_ms >= $from AND t_ms < $to
     ORDER BY (template_id IN (SELECT unnest($templates::VARCHAR[]))) DESC,
              (level IN ('fatal','error')) DESC, (level = 'warn') DESC, t_ms LIMIT 5`,
    { service, from: fromMs, to: toMs, templates: `[${templates.map((t) => JSON.stringify(t)).join(',')}]` },
  );
  return rows.map((r) => ({
    timeMs: num(r, 't_ms'),
    service: r.service === null ? null : String(r.service),
    level: r.level === null ? null : String(r.level),
    message: String(r.message ?? ''),
    traceId: r.trace_id === null ? null : String(r.trace_id),
  }));
}

async function traceEvidence(
  store: TelemetryStore,
  service: string,
  fromMs: number,
  toMs: number,
): Promise<string[]> {
  const rows = await store.query(
    `SELECT trace_id, max(duration_ms) AS d FROM spans WHERE service = $service AND start_ms >= $from AND start_ms < $to
     GROUP BY 1 ORDER BY 2 DESC LIMIT 3`,
    { service, from: fromMs, to: toMs },
  );
  return rows.map((r) => String(r.trace_id));
}

function describe(o: SignalOnset): string {
  const fmt = (x: number) =>
    Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2);
  const what = o.template === undefined ? o.name : `log "${o.template.slice(0, 80)}"`;
  return `${what} ${o.direction === 'up' ? '↑' : '↓'} ${fmt(o.before)} → ${fmt(o.after)} (${o.z >= 1000 ? '≥1000' : o.z.toFixed(1)} σ)`;
}

/**
 * The signals an analysis was computed from, kept beside it (and dropped with it) so that the
 * report's charts cut them out instead of computing them all again.
 */
const SIGNALS = new WeakMap<Analysis, readonly Signal[]>();

/** The signals behind an analysis made in this process, if any. */
export function signalsOf(analysis: Analysis): readonly Signal[] | undefined {
  return SIGNALS.get(analysis);
}

/** Per incident, the signals it was analysed from: finer than the analysis' own when zoomed in. */
const INCIDENT_SIGNALS = new WeakMap<Incident, readonly Signal[]>();

/** The signals one incident of an analysis made in this process was analysed from, if any. */
export function incidentSignalsOf(incident: Incident): readonly Signal[] | undefined {
  return INCIDENT_SIGNALS.get(incident);
}

const RESOURCE_KINDS: ReadonlySet<SignalKind> = new Set(['cpu', 'memory', 'gc']);

/**
 * The instance a cause points at: the one whose own strong evidence moved first (a fault in one
 * instance spreads to its peers through the load balancer and the shared database, so all of them
 * end up far out; the one that started it left its baseline before they did) — among their CPU,
 * memory and GC signals when any moved strongly; on a tie, the one with the most evidence. Null
 * when no evidence names an instance.
 */
/** The earliest strong signals of a cause (of `instance` and of the service as a whole), in time order. */
export function firstMoves(evidence: readonly SignalOnset[], instance: string | null): SignalOnset[] {
  return evidence
    .filter((e) => e.z >= 8 && (instance === null || e.instance === null || e.instance === instance))
    .sort((a, b) => a.onsetMs - b.onsetMs || b.z - a.z)
    .slice(0, 4);
}

export function leadInstance(evidence: readonly SignalOnset[]): string | null {
  // A fault inside one instance shows first in its own resources; pools, queues and latency are
  // symptoms the instances share (and the load's own ramp moves them all at the start): when an
  // instance's CPU, memory or GC moved strongly, the choice is made among those signals.
  const own = evidence.filter((e) => e.instance !== null && e.z >= 8 && RESOURCE_KINDS.has(e.kind));
  const per = new Map<string, SignalOnset[]>();
  for (const e of own.length > 0 ? own : evidence) {
    if (e.instance === null) continue;
    const list = per.get(e.instance);
    if (list === undefined) per.set(e.instance, [e]);
    else list.push(e);
  }
  let best: { instance: string; at: number; weight: number } | undefined;
  for (const [instance, list] of per) {
    const strong = list.filter((e) => e.z >= 8);
    const times = (strong.length > 0 ? strong : list).map((e) => e.onsetMs).sort((a, b) => a - b);
    const mid = times.length >> 1;
    const at =
      times.length % 2 === 1
        ? (times[mid] as number)
        : ((times[mid - 1] as number) + (times[mid] as number)) / 2;
    const weight = list.reduce((sum, e) => sum + Math.log1p(e.z), 0);
    if (best === undefined || at < best.at || (at === best.at && weight > best.weight))
      best = { instance, at, weight };
  }
  return best?.instance ?? null;
}

/**
 * A pre-aggregated latency quantile of a service whose spans we hold is a second, coarser view of
 * what its spans measure directly (each request, at event resolution, with its count known): it
 * still counts as evidence, but not as a user-visible health signal that defines an incident.
 */
function secondaryWhereTraced(s: Signal, traced: ReadonlySet<string>): Signal {
  return s.kind === 'latency' && s.health && traced.has(s.service) ? { ...s, health: false } : s;
}

/** The incident's dependency graph: from traces, else inferred from the order of onsets. */
function cascadeGraph(
  deps: ReadonlyArray<{ caller: string; callee: string; count: number }>,
  onsets: readonly SignalOnset[],
  virtual: readonly string[],
): Pick<Incident, 'dependencies' | 'dependencySource' | 'virtualServices'> {
  if (deps.length > 0)
    return {
      dependencies: deps.map((d) => ({ caller: d.caller, callee: d.callee, count: d.count })),
      dependencySource: 'traces',
      virtualServices: virtual,
    };
  const inferred = cooccurrenceEdges(onsets);
  return inferred.length > 0
    ? { dependencies: inferred, dependencySource: 'co-occurrence', virtualServices: [] }
    : { dependencies: [], dependencySource: 'none', virtualServices: [] };
}

/** A whole range whose events had to be bucketed this coarsely is read again around each incident. */
const ZOOM_FROM_STEP_MS = 10_000;
/** History read before an incident when zooming in, for its signals' baselines. */
const ZOOM_LOOKBACK_MS = 30 * 60_000;

/**
 * The incident `found` on the whole range's grid, read again on a finer one when that grid was
 * coarse: a day of logs fits 4,000 buckets only at 30 s, which dates an incident to half a minute,
 * while the 40 minutes around it hold enough events for 1 s buckets. The window is found again
 * near its coarse onset on the finer signals (the metrics keep their own resolution); the coarse
 * window and signals stay when the finer grid is no finer or finds nothing there.
 */
async function zoomIn(
  store: TelemetryStore,
  found: IncidentWindow,
  eventStepMs: number | null,
  signals: { readonly all: readonly Signal[]; readonly metric: readonly Signal[] },
): Promise<{ window: IncidentWindow; signals: readonly Signal[] }> {
  const coarse = { window: found, signals: signals.all };
  if (eventStepMs === null || eventStepMs < ZOOM_FROM_STEP_MS) return coarse;
  const range = { fromMs: found.fromMs - ZOOM_LOOKBACK_MS, toMs: found.toMs + 2 * eventStepMs };
  const fine = await eventSignals(store, range);
  if (fine.stepMs === null || fine.stepMs >= eventStepMs) return coarse;
  const finer = [...signals.metric, ...fine.signals];
  const [window] = findIncidents(finer, {
    aroundMs: found.onsetMs,
    radiusMs: Math.max(2 * eventStepMs, found.toMs - found.fromMs),
    max: 1,
  });
  return window === undefined ? coarse : { window, signals: finer };
}

/**
 * Finds the incidents in a store and ranks their root causes.
 * @example const { incidents } = await analyze(store); incidents[0]?.causes[0]?.service
 */
export async function analyze(store: TelemetryStore, options: AnalyzeOptions = {}): Promise<Analysis> {
  const started = performance.now();
  const metrics = await metricSignals(store);
  const segments = await eventSegments(store, options.aroundMs);
  const parts: { range: EventRange | undefined; signals: Signal[]; stepMs: number | null }[] = [];
  for (const range of segments.length === 0 ? [undefined] : segments)
    parts.push({ range, ...(await eventSignals(store, range)) });
  const eventSignalsAll = parts.flatMap((p) => p.signals);
  const traced = new Set(eventSignalsAll.filter((s) => s.source === 'span').map((s) => s.service));
  const metricsSeen = metrics.signals.map((s) => secondaryWhereTraced(s, traced));
  const signals = [...metricsSeen, ...eventSignalsAll];
  const max = options.maxIncidents ?? 5;
  const around = options.aroundMs === undefined ? {} : { aroundMs: options.aroundMs };
  // Each range of events is read on its own grid, with the metrics; an incident belongs to the
  // range its onset falls in (the metrics' own incidents elsewhere come from a pass of their own).
  const found: { window: IncidentWindow; part: (typeof parts)[number] }[] = [];
  for (const part of parts) {
    for (const window of findIncidents([...metricsSeen, ...part.signals], { ...around, max }))
      if (part.range === undefined || inRange(window.onsetMs, part.range)) found.push({ window, part });
  }
  if (segments.length > 0 && metricsSeen.length > 0) {
    const metricPart = { range: undefined, signals: [], stepMs: null };
    for (const window of findIncidents(metricsSeen, { ...around, max }))
      if (!segments.some((r) => inRange(window.onsetMs, r))) found.push({ window, part: metricPart });
  }
  const windows = found
    .sort((a, b) =>
      options.aroundMs === undefined
        ? b.window.severity - a.window.severity
        : Math.abs(a.window.onsetMs - options.aroundMs) - Math.abs(b.window.onsetMs - options.aroundMs),
    )
    .slice(0, max);
  const allEvents = await store.queries.events();
  const incidents: Incident[] = [];
  for (const { window: coarse, part } of windows) {
    const { window: w, signals: incidentSignals } = await zoomIn(store, coarse, part.stepMs, {
      all: [...metricsSeen, ...part.signals],
      metric: metricsSeen,
    });
    const onsets: SignalOnset[] = [];
    for (const s of incidentSignals) {
      const o = scoreSignal(s, w.evidenceFromMs, w.toMs);
      if (o !== undefined && o.z >= 3) onsets.push(o);
    }
    const depWindow = { fromMs: w.fromMs - 10 * 60_000, toMs: w.toMs };
    const peerEdges = await virtualPeerEdges(store, depWindow);
    const virtual = [...new Set(peerEdges.map((e) => e.callee))].sort();
    const spanDeps = [
      ...(await store.queries.spanEdges(depWindow)),
      ...peerEdges.map((e) => ({ caller: e.caller, callee: e.callee, count: e.count })),
    ];
    const seen = new Set(spanDeps.map((d) => `${d.caller}\u0000${d.callee}`));
    const deps = [
      ...spanDeps,
      ...(await labelEdges(store)).filter((d) => !seen.has(`${d.caller}\u0000${d.callee}`)),
    ];
    const ranked = rankServices(onsets, deps, { traced });
    const callers = new Map<string, Set<string>>();
    for (const d of deps)
      if (d.caller !== d.callee) callers.set(d.callee, (callers.get(d.callee) ?? new Set()).add(d.caller));
    const inWindow = allEvents.filter((e) => e.timeMs >= w.fromMs - 60_000 && e.timeMs < w.toMs);
    const causes: Cause[] = [];
    for (const r of ranked.slice(0, options.maxCauses ?? 10)) {
      const instance = leadInstance(r.evidence);
      const templates = r.evidence.flatMap((e) =>
        e.kind === 'log-template' && e.signalId.includes(' template ')
          ? [e.signalId.split(' template ').pop() ?? '']
          : [],
      );
      const top = r.evidence[0];
      causes.push({
        service: r.service,
        instance,
        score: Math.round(r.score * 1000) / 1000,
        signal:
          top === undefined
            ? ''
            : top.template === undefined
              ? top.name
              : `log template "${top.template.slice(0, 80)}"`,
        mechanism: nameMechanism({
          service: r.service,
          evidence: r.evidence,
          events: inWindow.map((e) => ({
            kind: e.kind,
            service: e.service,
            target: e.instance ?? (typeof e.attrs.target === 'string' ? e.attrs.target : null),
            timeMs: e.timeMs,
          })),
          incidentEvidence: onsets,
          callerEvidence: onsets.filter((o) => callers.get(r.service)?.has(o.service) === true),
          database: peerEdges.some((e) => e.callee === r.service && e.database),
        }),
        evidence: r.evidence.slice(0, 12),
        firstMoves: firstMoves(r.evidence, instance),
        logs: await logEvidence(store, r.service, w.evidenceFromMs - 60_000, w.toMs, templates),
        traces: virtual.includes(r.service)
          ? await virtualPeerTraces(store, r.service, w.evidenceFromMs, w.toMs)
          : await traceEvidence(store, r.service, w.evidenceFromMs, w.toMs),
        explainedBy: r.explainedBy,
        virtual: virtual.includes(r.service),
      });
    }
    const timeline: TimelineEntry[] = [
      ...onsets
        .filter((o) => o.z >= 5)
        .sort((a, b) => b.z - a.z)
        .slice(0, 40)
        .map((o) => ({ timeMs: o.onsetMs, service: o.service, text: describe(o) })),
      ...eventTimeline(inWindow),
    ].sort((a, b) => a.timeMs - b.timeMs);
    const incident: Incident = {
      window: { fromMs: w.fromMs, toMs: w.toMs },
      onsetMs: w.onsetMs,
      onsetBy: w.onsetBy,
      severity: Math.round(w.severity * 1000) / 1000,
      causes,
      timeline,
      ...cascadeGraph(deps, onsets, virtual),
    };
    INCIDENT_SIGNALS.set(incident, incidentSignals);
    incidents.push(incident);
  }
  const count = (src: string) => signals.filter((s) => s.source === src).length;
  const analysis: Analysis = {
    incidents,
    signals: { metric: count('metric'), span: count('span'), log: count('log') },
    stepMs: {
      metric: Number.isFinite(metrics.stepMs) ? metrics.stepMs : null,
      event: parts.reduce<number | null>(
        (finest, p) => (p.stepMs !== null && (finest === null || p.stepMs < finest) ? p.stepMs : finest),
        null,
      ),
    },
    durationMs: Math.round(performance.now() - started),
  };
  SIGNALS.set(analysis, signals);
  return analysis;
}
