import type { DuckDBValue } from '@duckdb/node-api';
import type { SpanStatus } from '../ingest/telemetry-rows.js';

type Row = Record<string, unknown>;

/** Anything that runs SQL: the store. */
export interface Queryable {
  query(sql: string, params?: Record<string, DuckDBValue>): Promise<Row[]>;
}

export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface ServiceSummary {
  readonly service: string;
  readonly logs: number;
  readonly errorLogs: number;
  readonly spans: number;
  readonly errorSpans: number;
  readonly series: number;
  readonly events: number;
}

/** One service's records of one kind of signal (see `StoreQueries.signalRanges`). */
export interface SignalRange {
  readonly service: string | null;
  readonly signal: 'logs' | 'spans' | 'metrics' | 'events';
  readonly count: number;
  /** Logs at error or fatal, spans with status error; 0 for metrics and events. */
  readonly errors: number;
  /** First and last time (a span's end); null when no record has one. */
  readonly fromMs: number | null;
  readonly toMs: number | null;
}

/** The earliest and latest time over `ranges`, or undefined when none has a time. */
export function rangeOf(ranges: readonly SignalRange[]): TimeRange | undefined {
  let fromMs = Number.POSITIVE_INFINITY;
  let toMs = Number.NEGATIVE_INFINITY;
  for (const r of ranges) {
    if (r.fromMs !== null) fromMs = Math.min(fromMs, r.fromMs);
    if (r.toMs !== null) toMs = Math.max(toMs, r.toMs);
  }
  return fromMs <= toMs ? { fromMs, toMs } : undefined;
}

/** The named services of `ranges` with their counts, by name. */
export function servicesOf(
  ranges: readonly SignalRange[],
  seriesPerService: ReadonlyMap<string, number>,
): ServiceSummary[] {
  const out = new Map<string, { -readonly [K in keyof ServiceSummary]: ServiceSummary[K] }>();
  const entry = (service: string) => {
    let e = out.get(service);
    if (e === undefined) {
      e = { service, logs: 0, errorLogs: 0, spans: 0, errorSpans: 0, series: 0, events: 0 };
      out.set(service, e);
    }
    return e;
  };
  for (const r of ranges) {
    if (r.service === null) continue;
    const e = entry(r.service);
    if (r.signal === 'logs') {
      e.logs += r.count;
      e.errorLogs += r.errors;
    } else if (r.signal === 'spans') {
      e.spans += r.count;
      e.errorSpans += r.errors;
    } else if (r.signal === 'events') e.events += r.count;
  }
  for (const [service, count] of seriesPerService) entry(service).series = count;
  return [...out.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

export interface MetricSeriesFilter {
  /** Exact metric name. */
  readonly name?: string;
  /** SQL LIKE pattern on the name (`%cpu%`). */
  readonly nameLike?: string;
  readonly service?: string;
  readonly instance?: string;
  /** Label values that must match exactly. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly fromMs?: number;
  readonly toMs?: number;
}

/** One series with its samples in time order. */
export interface MetricSeries {
  readonly seriesId: number;
  readonly name: string;
  readonly service: string | null;
  readonly instance: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly timesMs: Float64Array;
  readonly values: Float64Array;
}

export interface LogCountOptions {
  readonly bucketMs: number;
  readonly by: 'service' | 'template' | 'level';
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly service?: string;
  readonly level?: string;
}

export interface LogCount {
  /** Start of the bucket, epoch ms (a multiple of bucketMs). */
  readonly bucketStartMs: number;
  readonly key: string | null;
  readonly count: number;
}

export interface LogFilter {
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly service?: string;
  readonly level?: string;
  readonly templateId?: string;
  readonly traceId?: string;
  readonly limit?: number;
}

export interface LogRecord {
  readonly timeMs: number;
  readonly service: string | null;
  readonly instance: string | null;
  readonly level: string | null;
  readonly message: string;
  readonly templateId: string | null;
  readonly requestId: string | null;
  readonly traceId: string | null;
  readonly spanId: string | null;
  readonly fileId: number;
  readonly line: number | null;
}

export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly service: string | null;
  readonly instance: string | null;
  readonly name: string;
  readonly kind: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly status: SpanStatus;
}

/** Calls from one service to another, from parent/child spans across services. */
export interface SpanEdge {
  readonly caller: string;
  readonly callee: string;
  readonly count: number;
  /** Child spans with status error. */
  readonly errors: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

export interface EventRecord {
  readonly timeMs: number;
  readonly kind: string;
  readonly service: string | null;
  readonly instance: string | null;
  readonly attrs: Readonly<Record<string, unknown>>;
}

export interface TemplateRecord {
  readonly templateId: string;
  readonly template: string;
  readonly count: number;
}

function n(row: Row, key: string): number {
  const v = row[key];
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v ?? Number.NaN);
}

function s(row: Row, key: string): string | null {
  const v = row[key];
  return v === null || v === undefined ? null : String(v);
}

/** WHERE clause builder with named parameters. */
class Where {
  readonly parts: string[] = [];
  readonly params: Record<string, DuckDBValue> = {};
  add(sql: string, name: string, value: DuckDBValue | undefined): this {
    if (value === undefined) return this;
    this.parts.push(sql);
    this.params[name] = value;
    return this;
  }
  toString(): string {
    return this.parts.length === 0 ? '' : `WHERE ${this.parts.join(' AND ')}`;
  }
}

/** The typed read side of the store, for the analysis. */
export class StoreQueries {
  constructor(private readonly db: Queryable) {}

  /** The earliest and latest time of any stored record, or undefined for an empty store. */
  async timeRange(): Promise<TimeRange | undefined> {
    return rangeOf(await this.signalRanges());
  }

  /** Every service seen in logs, spans, metric series or events, with counts. */
  async services(): Promise<ServiceSummary[]> {
    return servicesOf(await this.signalRanges(), await this.seriesPerService());
  }

  /**
   * Per service (null: records naming none) and kind of signal: records, errors, first and last
   * time. One scan of each table, from which the time range, the services and the clock checks
   * are all read (each of them scanning 10 M log rows again cost a twentieth of the ingest).
   */
  async signalRanges(): Promise<SignalRange[]> {
    const rows = await this.db.query(`
      SELECT service, 'logs' AS signal, count(*)::DOUBLE n,
        count(*) FILTER (WHERE level IN ('error','fatal'))::DOUBLE e, min(t_ms) lo, max(t_ms) hi
      FROM logs GROUP BY 1
      UNION ALL SELECT service, 'spans', count(*)::DOUBLE, count(*) FILTER (WHERE status = 'error')::DOUBLE,
        min(start_ms), max(start_ms + duration_ms) FROM spans GROUP BY 1
      UNION ALL SELECT s.service, 'metrics', count(*)::DOUBLE, 0, min(m.t_ms), max(m.t_ms)
        FROM metric_samples m LEFT JOIN series s USING (series_id) GROUP BY 1
      UNION ALL SELECT service, 'events', count(*)::DOUBLE, 0, min(t_ms), max(t_ms) FROM events GROUP BY 1
      ORDER BY 1, 2`);
    return rows.map((r) => ({
      service: s(r, 'service'),
      signal: String(r.signal) as SignalRange['signal'],
      count: n(r, 'n'),
      errors: n(r, 'e'),
      fromMs: r.lo === null ? null : n(r, 'lo'),
      toMs: r.hi === null ? null : n(r, 'hi'),
    }));
  }

  /** Metric series per service (series, not samples). */
  async seriesPerService(): Promise<ReadonlyMap<string, number>> {
    const rows = await this.db.query(
      'SELECT service, count(*)::DOUBLE AS n FROM series WHERE service IS NOT NULL GROUP BY 1',
    );
    return new Map(rows.map((r) => [String(r.service), n(r, 'n')]));
  }

  /** Series matching `filter`, each with its samples (in the window, time-ordered). */
  async metricSeries(filter: MetricSeriesFilter = {}): Promise<MetricSeries[]> {
    const w = new Where()
      .add('name = $name', 'name', filter.name)
      .add('name LIKE $nameLike', 'nameLike', filter.nameLike)
      .add('service = $service', 'service', filter.service)
      .add('instance = $instance', 'instance', filter.instance);
    let i = 0;
    for (const [k, v] of Object.entries(filter.labels ?? {})) {
      w.add(`json_extract_string(labels, $lk${i}) = $lv${i}`, `lv${i}`, v);
      w.params[`lk${i}`] = `$."${k.replace(/"/g, '\\"')}"`;
      i++;
    }
    const series = await this.db.query(
      `SELECT series_id, name, service, instance, labels FROM series ${w} ORDER BY series_id`,
      w.params,
    );
    if (series.length === 0) return [];
    const time = new Where()
      .add('t_ms >= $from', 'from', filter.fromMs)
      .add('t_ms <= $to', 'to', filter.toMs);
    const ids = series.map((r) => n(r, 'series_id')).join(',');
    time.parts.push(`series_id IN (${ids})`);
    const samples = await this.db.query(
      `SELECT series_id, t_ms, value FROM metric_samples ${time} ORDER BY series_id, t_ms`,
      time.params,
    );
    const byId = new Map<number, { t: number[]; v: number[] }>();
    for (const r of samples) {
      const id = n(r, 'series_id');
      let acc = byId.get(id);
      if (acc === undefined) {
        acc = { t: [], v: [] };
        byId.set(id, acc);
      }
      acc.t.push(n(r, 't_ms'));
      acc.v.push(n(r, 'value'));
    }
    return series.map((r) => {
      const id = n(r, 'series_id');
      const acc = byId.get(id) ?? { t: [], v: [] };
      return {
        seriesId: id,
        name: s(r, 'name') ?? '',
        service: s(r, 'service'),
        instance: s(r, 'instance'),
        labels: JSON.parse(s(r, 'labels') ?? '{}') as Record<string, string>,
        timesMs: Float64Array.from(acc.t),
        values: Float64Array.from(acc.v),
      };
    });
  }

  /** Log lines per time bucket and service, template or level. */
  async logCounts(options: LogCountOptions): Promise<LogCount[]> {
    if (!(options.bucketMs > 0)) throw new RangeError('bucketMs must be positive');
    const column = options.by === 'template' ? 'template_id' : options.by;
    const w = new Where()
      .add('t_ms >= $from', 'from', options.fromMs)
      .add('t_ms <= $to', 'to', options.toMs)
      .add('service = $service', 'service', options.service)
      .add('level = $level', 'level', options.level);
    w.params.bucket = options.bucketMs;
    const rows = await this.db.query(
      `SELECT floor(t_ms / $bucket) * $bucket AS b, ${column} AS k, count(*)::DOUBLE AS c
       FROM logs ${w} GROUP BY 1, 2 ORDER BY 1, 2`,
      w.params,
    );
    return rows.map((r) => ({ bucketStartMs: n(r, 'b'), key: s(r, 'k'), count: n(r, 'c') }));
  }

  /** Log records matching `filter`, in time order (default limit 1000). */
  async logs(filter: LogFilter = {}): Promise<LogRecord[]> {
    const w = new Where()
      .add('t_ms >= $from', 'from', filter.fromMs)
      .add('t_ms <= $to', 'to', filter.toMs)
      .add('service = $service', 'service', filter.service)
      .add('level = $level', 'level', filter.level)
      .add('template_id = $template', 'template', filter.templateId)
      .add('trace_id = $trace', 'trace', filter.traceId);
    const rows = await this.db.query(
      `SELECT t_ms, service, instance, level, message, template_id, request_id, trace_id, span_id, file_id, line
       FROM logs ${w} ORDER BY t_ms LIMIT ${Math.max(0, Math.floor(filter.limit ?? 1000))}`,
      w.params,
    );
    return rows.map((r) => ({
      timeMs: n(r, 't_ms'),
      service: s(r, 'service'),
      instance: s(r, 'instance'),
      level: s(r, 'level'),
      message: s(r, 'message') ?? '',
      templateId: s(r, 'template_id'),
      requestId: s(r, 'request_id'),
      traceId: s(r, 'trace_id'),
      spanId: s(r, 'span_id'),
      fileId: n(r, 'file_id'),
      line: r.line === null ? null : n(r, 'line'),
    }));
  }

  /** Spans starting in [fromMs, toMs], in start order (default limit 10 000). */
  async spansBetween(
    fromMs: number,
    toMs: number,
    options: { service?: string; limit?: number } = {},
  ): Promise<SpanRecord[]> {
    const w = new Where()
      .add('start_ms >= $from', 'from', fromMs)
      .add('start_ms <= $to', 'to', toMs)
      .add('service = $service', 'service', options.service);
    const rows = await this.db.query(
      `SELECT * FROM spans ${w} ORDER BY start_ms LIMIT ${Math.max(0, Math.floor(options.limit ?? 10_000))}`,
      w.params,
    );
    return rows.map((r) => ({
      traceId: s(r, 'trace_id') ?? '',
      spanId: s(r, 'span_id') ?? '',
      parentSpanId: s(r, 'parent_span_id'),
      service: s(r, 'service'),
      instance: s(r, 'instance'),
      name: s(r, 'name') ?? '',
      kind: s(r, 'kind') ?? 'unspecified',
      startMs: n(r, 'start_ms'),
      durationMs: n(r, 'duration_ms'),
      status: (s(r, 'status') ?? 'unset') as SpanStatus,
    }));
  }

  /** Caller → callee service pairs (parent span's service → child span's service), with latency and errors. */
  async spanEdges(window: { fromMs?: number; toMs?: number } = {}): Promise<SpanEdge[]> {
    const w = new Where()
      .add('c.start_ms >= $from', 'from', window.fromMs)
      .add('c.start_ms <= $to', 'to', window.toMs);
    w.parts.push('p.service IS NOT NULL', 'c.service IS NOT NULL', 'p.service <> c.service');
    const rows = await this.db.query(
      `SELECT p.service AS caller, c.service AS callee, count(*)::DOUBLE AS n,
              count(*) FILTER (WHERE c.status = 'error')::DOUBLE AS errors,
              avg(c.duration_ms) AS mean, quantile_cont(c.duration_ms, 0.5) AS p50,
              quantile_cont(c.duration_ms, 0.95) AS p95, max(c.duration_ms) AS mx
       FROM spans c JOIN spans p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
       ${w} GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
      w.params,
    );
    return rows.map((r) => ({
      caller: s(r, 'caller') ?? '',
      callee: s(r, 'callee') ?? '',
      count: n(r, 'n'),
      errors: n(r, 'errors'),
      meanMs: n(r, 'mean'),
      p50Ms: n(r, 'p50'),
      p95Ms: n(r, 'p95'),
      maxMs: n(r, 'mx'),
    }));
  }

  /** Events in time order. */
  async events(filter: { fromMs?: number; toMs?: number; kind?: string } = {}): Promise<EventRecord[]> {
    const w = new Where()
      .add('t_ms >= $from', 'from', filter.fromMs)
      .add('t_ms <= $to', 'to', filter.toMs)
      .add('kind = $kind', 'kind', filter.kind);
    const rows = await this.db.query(`SELECT * FROM events ${w} ORDER BY t_ms`, w.params);
    return rows.map((r) => ({
      timeMs: n(r, 't_ms'),
      kind: s(r, 'kind') ?? '',
      service: s(r, 'service'),
      instance: s(r, 'instance'),
      attrs: JSON.parse(s(r, 'attrs') ?? '{}') as Record<string, unknown>,
    }));
  }

  /** Mined log templates, most frequent first. */
  async templates(): Promise<TemplateRecord[]> {
    const rows = await this.db.query(
      `SELECT t.template_id, t.template, coalesce(c.n, 0)::DOUBLE AS n FROM templates t
       LEFT JOIN (SELECT template_id, count(*) n FROM logs GROUP BY 1) c USING (template_id)
       ORDER BY n DESC, t.template_id`,
    );
    return rows.map((r) => ({
      templateId: s(r, 'template_id') ?? '',
      template: s(r, 'template') ?? '',
      count: n(r, 'n'),
    }));
  }
}
