/**
 * Signals from spans, per service and per caller→callee edge: call rate, error rate, latency
 * quantiles of the service's entry spans, and its self time (a span's duration minus its
 * children's). Self time is what separates the service that got slow from the callers that only
 * waited for it. Spans without a status get it from error logs with the same trace and span id.
 */
import type { TelemetryStore } from '../store/telemetry-store.js';
import type { Signal } from './signal.js';

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
const str = (r: Row, k: string): string => String(r[k] ?? '');

const SPAN_VIEW = `
WITH err AS (SELECT DISTINCT trace_id, span_id FROM logs WHERE level IN ('error','fatal') AND span_id IS NOT NULL),
ch AS (SELECT trace_id, parent_span_id AS sid, sum(duration_ms) AS cd FROM spans
       WHERE parent_span_id IS NOT NULL GROUP BY 1, 2),
out AS (SELECT DISTINCT c.trace_id, c.parent_span_id AS sid, c.service AS callee FROM spans c
        JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
        WHERE c.service IS NOT NULL AND c.service IS DISTINCT FROM p.service),
s AS (SELECT sp.trace_id, sp.span_id, sp.service, sp.start_ms,
        EXISTS (SELECT 1 FROM out o WHERE o.trace_id = sp.trace_id AND o.sid = sp.span_id) AS calls_out, sp.duration_ms AS d, greatest(sp.duration_ms - coalesce(ch.cd, 0), 0) AS self,
        (sp.status = 'error' OR err.span_id IS NOT NULL) AS e,
        (p.span_id IS NULL OR p.service IS DISTINCT FROM sp.service) AS entry, p.service AS caller
      FROM spans sp
      LEFT JOIN ch ON ch.trace_id = sp.trace_id AND ch.sid = sp.span_id
      LEFT JOIN spans p ON p.trace_id = sp.trace_id AND p.span_id = sp.parent_span_id
      LEFT JOIN err ON err.trace_id = sp.trace_id AND err.span_id = sp.span_id
      WHERE sp.service IS NOT NULL)`;

function grid(startMs: number, length: number): Float64Array {
  void startMs;
  return new Float64Array(length).fill(Number.NaN);
}

/** Span signals on a grid of `stepMs` from `startMs` (`length` buckets). */
export async function spanSignals(
  store: TelemetryStore,
  startMs: number,
  stepMs: number,
  length: number,
): Promise<Signal[]> {
  const params = { step: stepMs, start: startMs };
  const rows = await store.query(
    `${SPAN_VIEW}
     SELECT service, ((floor(start_ms / $step) * $step - $start) / $step)::INTEGER AS b,
       count(*) FILTER (WHERE entry)::DOUBLE AS calls, count(*) FILTER (WHERE e)::DOUBLE AS errs,
       count(*)::DOUBLE AS n,
       quantile_cont(d, 0.5) FILTER (WHERE entry) AS p50, quantile_cont(d, 0.95) FILTER (WHERE entry) AS p95,
       quantile_cont(self, 0.5) AS self50, quantile_cont(self, 0.9) AS self90,
       quantile_cont(self, 0.9) FILTER (WHERE NOT calls_out) AS leaf90
     FROM s GROUP BY 1, 2`,
    params,
  );
  const per = new Map<string, Record<string, Float64Array>>();
  const metrics = ['calls', 'errorRate', 'p50', 'p95', 'self50', 'self90', 'leaf90'] as const;
  for (const r of rows) {
    const service = str(r, 'service');
    const b = num(r, 'b');
    if (!(b >= 0 && b < length)) continue;
    let m = per.get(service);
    if (m === undefined) {
      m = Object.fromEntries(metrics.map((k) => [k, grid(startMs, length)]));
      per.set(service, m);
    }
    const set = (k: string, v: number) => {
      const a = m[k];
      if (a !== undefined) a[b] = v;
    };
    set('calls', num(r, 'calls'));
    set('errorRate', num(r, 'errs') / Math.max(1, num(r, 'n')));
    set('p50', num(r, 'p50'));
    set('p95', num(r, 'p95'));
    set('self50', num(r, 'self50'));
    set('self90', num(r, 'self90'));
    set('leaf90', num(r, 'leaf90'));
  }
  const signals: Signal[] = [];
  const base = { instance: null, source: 'span' as const, startMs, stepMs };
  for (const [service, m] of per) {
    const calls = m.calls as Float64Array;
    for (let i = 0; i < length; i++) if (!Number.isFinite(calls[i] as number)) calls[i] = 0;
    signals.push(
      {
        ...base,
        id: `span ${service} calls`,
        service,
        kind: 'traffic',
        name: 'calls',
        values: calls,
        bad: 'both',
        health: false,
        countData: true,
      },
      {
        ...base,
        id: `span ${service} error rate`,
        service,
        kind: 'errors',
        name: 'span error rate',
        values: m.errorRate as Float64Array,
        bad: 'up',
        health: true,
        countData: false,
      },
      {
        ...base,
        id: `span ${service} p50`,
        service,
        kind: 'latency',
        name: 'p50 latency',
        values: m.p50 as Float64Array,
        bad: 'up',
        health: true,
        countData: false,
      },
      {
        ...base,
        id: `span ${service} p95`,
        service,
        kind: 'latency',
        name: 'p95 latency',
        values: m.p95 as Float64Array,
        bad: 'up',
        health: true,
        countData: false,
      },
      {
        ...base,
        id: `span ${service} self p50`,
        service,
        kind: 'self-time',
        name: 'self time p50',
        values: m.self50 as Float64Array,
        bad: 'up',
        health: false,
        countData: false,
      },
      {
        ...base,
        id: `span ${service} self p90`,
        service,
        kind: 'self-time',
        name: 'self time p90',
        values: m.self90 as Float64Array,
        bad: 'up',
        health: false,
        countData: false,
      },
      {
        ...base,
        id: `span ${service} leaf self p90`,
        service,
        kind: 'self-time',
        name: 'self time p90 (spans without outgoing calls)',
        values: m.leaf90 as Float64Array,
        bad: 'up',
        health: false,
        countData: false,
      },
    );
  }
  const edges = await store.query(
    `${SPAN_VIEW}
     SELECT caller, service AS callee, ((floor(start_ms / $step) * $step - $start) / $step)::INTEGER AS b,
       count(*)::DOUBLE AS n, quantile_cont(d, 0.95) AS p95, avg(e::INTEGER) AS er
     FROM s WHERE entry AND caller IS NOT NULL GROUP BY 1, 2, 3`,
    params,
  );
  const perEdge = new Map<string, { caller: string; callee: string; p95: Float64Array; er: Float64Array }>();
  for (const r of edges) {
    const b = num(r, 'b');
    if (!(b >= 0 && b < length)) continue;
    const key = `${str(r, 'caller')}\u0000${str(r, 'callee')}`;
    let e = perEdge.get(key);
    if (e === undefined) {
      e = {
        caller: str(r, 'caller'),
        callee: str(r, 'callee'),
        p95: grid(startMs, length),
        er: grid(startMs, length),
      };
      perEdge.set(key, e);
    }
    e.p95[b] = num(r, 'p95');
    e.er[b] = num(r, 'er');
  }
  // Time a caller spends around its calls to one callee beyond what the callee itself reports:
  // network delay or queueing on the path to the callee shows here first (client side slow,
  // server side normal).
  const gaps = await store.query(
    `${SPAN_VIEW}
     SELECT s.service AS caller, o.callee, ((floor(start_ms / $step) * $step - $start) / $step)::INTEGER AS b,
       quantile_cont(self, 0.9) AS gap
     FROM s JOIN (SELECT DISTINCT trace_id, sid, callee FROM out) o ON o.trace_id = s.trace_id AND o.sid = s.span_id
     GROUP BY 1, 2, 3`,
    params,
  );
  const perGap = new Map<string, { caller: string; callee: string; v: Float64Array }>();
  for (const r of gaps) {
    const b = num(r, 'b');
    if (!(b >= 0 && b < length)) continue;
    const key = `${str(r, 'caller')}\u0000${str(r, 'callee')}`;
    let g = perGap.get(key);
    if (g === undefined) {
      g = { caller: str(r, 'caller'), callee: str(r, 'callee'), v: grid(startMs, length) };
      perGap.set(key, g);
    }
    g.v[b] = num(r, 'gap');
  }
  for (const g of perGap.values()) {
    const name = `${g.caller}→${g.callee}`;
    signals.push({
      ...base,
      id: `span gap ${name}`,
      service: g.callee,
      caller: g.caller,
      kind: 'self-time',
      name: `wait around calls ${name} p90`,
      values: g.v,
      bad: 'up',
      health: false,
      countData: false,
    });
  }
  for (const e of perEdge.values()) {
    const name = `${e.caller}→${e.callee}`;
    signals.push(
      {
        ...base,
        id: `span edge ${name} p95`,
        service: e.callee,
        caller: e.caller,
        kind: 'latency',
        name: `calls ${name} p95`,
        values: e.p95,
        bad: 'up',
        health: true,
        countData: false,
      },
      {
        ...base,
        id: `span edge ${name} errors`,
        service: e.callee,
        caller: e.caller,
        kind: 'errors',
        name: `calls ${name} error rate`,
        values: e.er,
        bad: 'up',
        health: true,
        countData: false,
      },
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
