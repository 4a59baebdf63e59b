/**
 * Signals from spans, per service and per caller→callee edge: call count, error count, latency
 * quantiles of the service's entry spans, and its self time (a span's duration minus its
 * children's). Self time is what separates the service that got slow from the callers that only
 * waited for it. Spans without a status get it from error logs with the same trace and span id.
 *
 * Each group of spans (a service, an edge) is bucketed at its own resolution: the finest step, no
 * finer than the common event grid, at which its buckets hold enough spans for a quantile to mean
 * something. A p95 of one request is that request, and a service called 40 times in three minutes
 * would otherwise show "latency" jumps that are single calls.
 */
import type { TelemetryStore } from '../store/telemetry-store.js';
import { eventStepMs } from './event-step.js';
import { quantileSorted } from './robust-stats.js';
import type { Signal, SignalKind } from './signal.js';
import { VIRTUAL_CALLS_CTES } from './virtual-peers.js';

type Row = Record<string, unknown>;
const num = (r: Row, k: string): number => {
  const v = r[k];
  return typeof v === 'bigint'
    ? Number(v)
    : typeof v === 'number'
      ? v
      : v === null || v === undefined
        ? Number.NaN
        : Number(v);
};

/** The smallest change in a span timing that is not jitter, in ms. */
export const SPAN_TIMING_RESOLUTION_MS = 1;

/** Spans per bucket, on average, below which a bucket's quantile is mostly one request's noise. */
export const MIN_SPANS_PER_BUCKET = 5;

/**
 * An internal span that waits for a pooled resource (`pg.pool.acquire`, `pool.checkout`,
 * `acquire connection`…): its duration is queueing behind whoever holds the pool, not the
 * service's own work.
 */
const POOL_WAIT_NAME = '(pool.*(acquire|wait|checkout))|((acquire|checkout).*(conn|client|pool))';

/**
 * One row per span: its service, caller service (entry spans), times, self time, error, callees.
 * A client span to an uninstrumented peer is filed under the peer (virtual-peers.ts): its duration
 * is the peer's latency, not its caller's own time.
 */
const SPAN_ROWS = `
WITH ${VIRTUAL_CALLS_CTES},
err AS (SELECT DISTINCT trace_id, span_id FROM logs WHERE level IN ('error','fatal') AND span_id IS NOT NULL),
ch AS (SELECT trace_id, parent_span_id AS sid, sum(duration_ms) AS cd FROM spans_v
       WHERE parent_span_id IS NOT NULL GROUP BY 1, 2),
kids AS (SELECT c.trace_id, c.parent_span_id AS sid, list(DISTINCT c.service) AS callees FROM spans_v c
         JOIN spans_v p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
         WHERE c.service IS NOT NULL AND c.service IS DISTINCT FROM p.service GROUP BY 1, 2)
SELECT sp.service, sp.start_ms AS t, sp.duration_ms AS d,
  greatest(sp.duration_ms - coalesce(ch.cd, 0), 0) AS self,
  (sp.status = 'error' OR err.span_id IS NOT NULL) AS e,
  (p.span_id IS NULL OR p.service IS DISTINCT FROM sp.service) AS entry,
  p.service AS caller, k.callees, (vc.span_id IS NOT NULL) AS virt,
  CASE WHEN sp.kind = 'internal' AND (sp.attrs LIKE '%"job.name"%'
    OR regexp_matches(sp.name, '^(job|cron|batch|task|scheduled)\\b', 'i')) THEN sp.name END AS background,
  (sp.kind = 'internal' AND regexp_matches(sp.name, '${POOL_WAIT_NAME}', 'i')) AS pool_wait
FROM spans_v sp
LEFT JOIN ch ON ch.trace_id = sp.trace_id AND ch.sid = sp.span_id
LEFT JOIN spans_v p ON p.trace_id = sp.trace_id AND p.span_id = sp.parent_span_id
LEFT JOIN err ON err.trace_id = sp.trace_id AND err.span_id = sp.span_id
LEFT JOIN kids k ON k.trace_id = sp.trace_id AND k.sid = sp.span_id
LEFT JOIN virtual_calls vc ON vc.trace_id = sp.trace_id AND vc.span_id = sp.span_id
WHERE sp.service IS NOT NULL AND sp.start_ms IS NOT NULL`;

export interface SpanRow {
  readonly t: number;
  readonly d: number;
  readonly self: number;
  readonly e: boolean;
  readonly leaf: boolean;
}

/** A group of spans on its own grid. */
export interface Grid {
  readonly startMs: number;
  readonly stepMs: number;
  readonly buckets: SpanRow[][];
}

/**
 * The step for `count` spans over `rangeMs`: at least `baseStepMs`, coarser until buckets hold
 * `MIN_SPANS_PER_BUCKET` spans on average.
 * @example groupStepMs(40, 170_000, 2000) // 30000
 */
export function groupStepMs(count: number, rangeMs: number, baseStepMs: number): number {
  return Math.max(baseStepMs, eventStepMs(count, rangeMs, MIN_SPANS_PER_BUCKET));
}

function gridOf(rows: readonly SpanRow[], startMs: number, endMs: number, baseStepMs: number): Grid {
  const stepMs = groupStepMs(rows.length, Math.max(1000, endMs - startMs), baseStepMs);
  const start = Math.floor(startMs / stepMs) * stepMs;
  const length = Math.max(1, Math.floor((endMs - 1 - start) / stepMs) + 1);
  const buckets: SpanRow[][] = Array.from({ length }, () => []);
  for (const r of rows) {
    const b = Math.floor((r.t - start) / stepMs);
    if (b >= 0 && b < length) buckets[b]?.push(r);
  }
  return { startMs: start, stepMs, buckets };
}

/** Per bucket: `f` of the bucket's spans, NaN for an empty bucket. */
function series(g: Grid, f: (spans: readonly SpanRow[]) => number): Float64Array {
  return Float64Array.from(g.buckets, (b) => (b.length === 0 ? Number.NaN : f(b)));
}

function quantile(spans: readonly SpanRow[], pick: (r: SpanRow) => number, q: number): number {
  const xs = Float64Array.from(spans, pick).sort();
  return quantileSorted(xs, q);
}

/** Per step of `g`: how many of `rows` were running at some point of it. */
export function inProgress(g: Grid, rows: readonly SpanRow[]): Float64Array {
  const n = g.buckets.length;
  const out = new Float64Array(n);
  const endMs = g.startMs + n * g.stepMs;
  for (const r of rows) {
    const end = Math.min(r.t + Math.max(0, r.d), endMs - 1);
    const first = Math.max(0, Math.floor((r.t - g.startMs) / g.stepMs));
    const last = Math.min(n - 1, Math.floor((end - g.startMs) / g.stepMs));
    for (let b = first; b <= last; b++) out[b] = (out[b] as number) + 1;
  }
  return out;
}

/**
 * Per step of `g`: the longest call in progress during it (its whole duration, in ms), so a call
 * that hangs counts in every step it spans; NaN where no call ran.
 */
export function longestRunning(g: Grid, rows: readonly SpanRow[]): Float64Array {
  const n = g.buckets.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const endMs = g.startMs + n * g.stepMs;
  for (const r of rows) {
    const end = r.t + Math.max(0, r.d);
    const first = Math.max(0, Math.floor((r.t - g.startMs) / g.stepMs));
    const last = Math.min(n - 1, Math.floor((Math.min(end, endMs - 1) - g.startMs) / g.stepMs));
    // its whole duration, from the step it started in (as the latency quantiles file it)
    for (let b = first; b <= last; b++) {
      const v = out[b] as number;
      if (!(v >= r.d)) out[b] = r.d;
    }
  }
  return out;
}

const errorCount = (b: readonly SpanRow[]) => b.reduce((n, r) => n + (r.e ? 1 : 0), 0);

interface SignalSpec {
  readonly id: string;
  readonly service: string;
  readonly caller?: string;
  readonly kind: SignalKind;
  readonly name: string;
  readonly values: Float64Array;
  readonly health: boolean;
  readonly countData: boolean;
  readonly bad?: 'up' | 'both';
}

function signalOf(g: Grid, s: SignalSpec): Signal {
  return {
    id: s.id,
    service: s.service,
    instance: null,
    source: 'span',
    kind: s.kind,
    name: s.name,
    startMs: g.startMs,
    stepMs: g.stepMs,
    values: s.values,
    bad: s.bad ?? 'up',
    health: s.health,
    countData: s.countData,
    // Span timings are in ms; scheduling and network jitter make a shift of less than a
    // millisecond or so no evidence, however flat the baseline was.
    ...(s.countData ? {} : { minScale: SPAN_TIMING_RESOLUTION_MS }),
    ...(s.caller === undefined ? {} : { caller: s.caller }),
  };
}

function push<K>(map: Map<K, SpanRow[]>, key: K, row: SpanRow): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [row]);
  else list.push(row);
}

/**
 * Span signals over [startMs, startMs + length × stepMs); each group of spans on its own grid, no
 * finer than `stepMs`.
 */
export async function spanSignals(
  store: TelemetryStore,
  startMs: number,
  stepMs: number,
  length: number,
): Promise<Signal[]> {
  const endMs = startMs + length * stepMs;
  const rows = await store.query(SPAN_ROWS);
  const all = new Map<string, SpanRow[]>();
  const entries = new Map<string, SpanRow[]>();
  const edges = new Map<string, SpanRow[]>();
  const gaps = new Map<string, SpanRow[]>();
  const background = new Map<string, SpanRow[]>();
  const poolWaits = new Map<string, SpanRow[]>();
  const SEP = '\u0000';
  const virtual = new Set<string>();
  for (const r of rows) if (r.virt === true) virtual.add(String(r.service));
  for (const r of rows) {
    const service = String(r.service);
    const callees = Array.isArray(r.callees) ? r.callees.map(String) : [];
    const row: SpanRow = {
      t: num(r, 't'),
      d: num(r, 'd'),
      self: num(r, 'self'),
      e: r.e === true,
      leaf: callees.length === 0,
    };
    if (!(row.t >= startMs && row.t < endMs)) continue;
    // waiting for a pool is a queue's length, apart from the service's own time
    if (r.pool_wait === true) {
      push(poolWaits, service, row);
      continue;
    }
    push(all, service, row);
    if (typeof r.background === 'string') push(background, `${service}${SEP}${r.background}`, row);
    if (r.entry === true) {
      push(entries, service, row);
      if (r.caller !== null && r.caller !== undefined)
        push(edges, `${String(r.caller)}${SEP}${service}`, row);
    }
    // Around a call to a virtual peer there is no server side to subtract: the caller's own time
    // there is its own work, not a wait on the path.
    for (const c of callees) if (!virtual.has(c)) push(gaps, `${service}${SEP}${c}`, row);
  }
  const signals: Signal[] = [];
  for (const [service, list] of all) {
    const g = gridOf(list, startMs, endMs, stepMs);
    const leaves = list.filter((r) => r.leaf);
    const lg = gridOf(leaves, startMs, endMs, stepMs);
    signals.push(
      signalOf(g, {
        id: `span ${service} errors`,
        service,
        kind: 'errors',
        name: 'span errors',
        values: series(g, errorCount).map((v) => (Number.isFinite(v) ? v : 0)),
        health: true,
        countData: true,
      }),
      signalOf(g, {
        id: `span ${service} self p50`,
        service,
        kind: 'self-time',
        name: 'self time p50',
        values: series(g, (b) => quantile(b, (r) => r.self, 0.5)),
        health: false,
        countData: false,
      }),
      signalOf(g, {
        id: `span ${service} self p90`,
        service,
        kind: 'self-time',
        name: 'self time p90',
        values: series(g, (b) => quantile(b, (r) => r.self, 0.9)),
        health: false,
        countData: false,
      }),
    );
    if (leaves.length > 0)
      signals.push(
        signalOf(lg, {
          id: `span ${service} leaf self p90`,
          service,
          kind: 'self-time',
          name: 'self time p90 (spans without outgoing calls)',
          values: series(lg, (b) => quantile(b, (r) => r.self, 0.9)),
          health: false,
          countData: false,
        }),
      );
  }
  for (const [service, list] of poolWaits) {
    const g = gridOf(list, startMs, endMs, stepMs);
    signals.push(
      signalOf(g, {
        id: `span ${service} pool wait p90`,
        service,
        kind: 'saturation',
        name: 'pool acquire wait p90',
        values: series(g, (b) => quantile(b, (r) => r.d, 0.9)),
        health: false,
        countData: false,
      }),
    );
  }
  for (const [service, list] of entries) {
    const g = gridOf(list, startMs, endMs, stepMs);
    signals.push(
      signalOf(g, {
        id: `span ${service} calls`,
        service,
        kind: 'traffic',
        name: 'calls',
        values: series(g, (b) => b.length).map((v) => (Number.isFinite(v) ? v : 0)),
        health: false,
        countData: true,
        bad: 'both',
      }),
      signalOf(g, {
        id: `span ${service} p50`,
        service,
        kind: 'latency',
        name: 'p50 latency',
        values: series(g, (b) => quantile(b, (r) => r.d, 0.5)),
        health: true,
        countData: false,
      }),
      signalOf(g, {
        id: `span ${service} p95`,
        service,
        kind: 'latency',
        name: 'p95 latency',
        values: series(g, (b) => quantile(b, (r) => r.d, 0.95)),
        health: true,
        countData: false,
      }),
    );
  }
  // Work a service runs in the background (an internal span of a job: `job.name`, or named `job …`,
  // `cron …`, `batch …`), as runs in progress: when a job starts is known to the
  // millisecond from its span, and a job that starts just before its database slows down is the
  // likelier trigger than the database.
  for (const [key, list] of background) {
    const [service = '', name = ''] = key.split(SEP);
    // a level, not a quantile of the bucket's spans: the finest step, however few the runs
    const length = Math.max(1, Math.ceil((endMs - startMs) / stepMs));
    const g: Grid = { startMs, stepMs, buckets: Array.from({ length }, () => []) };
    signals.push(
      signalOf(g, {
        id: `span background ${service} ${name}`,
        service,
        kind: 'other',
        name: `background ${name} in progress`,
        values: inProgress(g, list),
        health: false,
        // runs are counted: tested against the baseline's rate, not a spread of timings
        countData: true,
      }),
    );
  }
  // Time a caller spends around its calls to one callee beyond what the callee itself reports:
  // network delay or queueing on the path to the callee shows here first (client side slow,
  // server side normal).
  for (const [key, list] of gaps) {
    const [caller = '', callee = ''] = key.split(SEP);
    const g = gridOf(list, startMs, endMs, stepMs);
    const name = `${caller}→${callee}`;
    signals.push(
      signalOf(g, {
        id: `span gap ${name}`,
        service: callee,
        caller,
        kind: 'self-time',
        name: `wait around calls ${name} p90`,
        values: series(g, (b) => quantile(b, (r) => r.self, 0.9)),
        health: false,
        countData: false,
      }),
    );
  }
  for (const [key, list] of edges) {
    const [caller = '', callee = ''] = key.split(SEP);
    const g = gridOf(list, startMs, endMs, stepMs);
    const name = `${caller}→${callee}`;
    signals.push(
      signalOf(g, {
        id: `span edge ${name} p95`,
        service: callee,
        caller,
        kind: 'latency',
        name: `calls ${name} p95`,
        values: series(g, (b) => quantile(b, (r) => r.d, 0.95)),
        health: true,
        countData: false,
      }),
      // The longest call in progress in each step: a callee that stops answering (a lock, a hang)
      // shows for as long as its calls hang, not only in the step they started, and even when
      // its callers can no longer start any (their pools are full).
      signalOf(g, {
        id: `span edge ${name} longest running`,
        service: callee,
        caller,
        kind: 'latency',
        name: `calls ${name} longest running`,
        values: longestRunning(g, list),
        health: false,
        countData: false,
      }),
      signalOf(g, {
        id: `span edge ${name} errors`,
        service: callee,
        caller,
        kind: 'errors',
        name: `calls ${name} errors`,
        values: series(g, errorCount).map((v) => (Number.isFinite(v) ? v : 0)),
        health: true,
        countData: true,
      }),
    );
  }
  return signals;
}

/** Caller→callee call counts over the whole store (the dependency graph from traces). */
export async function spanDependencies(
  store: TelemetryStore,
): Promise<Array<{ caller: string; callee: string; count: number }>> {
  const edges = await store.queries.spanEdges();
  return edges.map((e) => ({ caller: e.caller, callee: e.callee, count: e.count }));
}
