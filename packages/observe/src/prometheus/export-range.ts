import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface ExportRangeOptions {
  /** Base URL of a Prometheus-compatible API (Prometheus, Thanos, Mimir's `/prometheus`, VictoriaMetrics). */
  readonly prometheus: string;
  /** Window start: a Date or epoch milliseconds (as `Date.now()`). */
  readonly from: Date | number;
  /** Window end (inclusive): a Date or epoch milliseconds. */
  readonly to: Date | number;
  /** Resolution; defaults to 1 s. */
  readonly stepSeconds?: number;
  /** Series selectors (or any PromQL); defaults to every scraped series, `{job=~".+"}`. */
  readonly selectors?: readonly string[];
  /** The bundle folder; `metrics.jsonl` is appended to, never truncated. */
  readonly out: string;
  /** Extra request headers, e.g. `authorization` or Mimir's `x-scope-orgid`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Points per series per request; defaults to 10 000 (Prometheus refuses more than 11 000). */
  readonly maxPointsPerRequest?: number;
  /** Per-request timeout; defaults to 60 000 ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface ExportRangeResult {
  /** Lines written (one per series; a series matched by several selectors is written once). */
  readonly series: number;
  readonly samples: number;
  /** `query_range` requests made. */
  readonly requests: number;
  /** The file appended to. */
  readonly file: string;
}

interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

interface ApiResponse {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
}

function epochMs(time: Date | number, name: string): number {
  const ms = Math.round(typeof time === 'number' ? time : time.getTime());
  if (!Number.isFinite(ms)) throw new RangeError(`${name} is not a valid time`);
  return ms;
}

function seriesKey(metric: Record<string, string>): string {
  return JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function queryRange(
  base: string,
  query: string,
  startMs: number,
  endMs: number,
  stepMs: number,
  options: ExportRangeOptions,
): Promise<MatrixSeries[]> {
  const params = new URLSearchParams({
    query,
    start: String(startMs / 1000),
    end: String(endMs / 1000),
    step: String(stepMs / 1000),
  });
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  const response = await fetch(`${base}/api/v1/query_range?${params}`, {
    headers: { accept: 'application/json', ...options.headers },
    signal,
  });
  const text = await response.text();
  let body: ApiResponse | undefined;
  try {
    body = JSON.parse(text) as ApiResponse;
  } catch {
    body = undefined;
  }
  if (!response.ok || body?.status !== 'success') {
    const detail = body?.error ?? text.slice(0, 500);
    throw new Error(`query_range ${JSON.stringify(query)} failed: HTTP ${response.status}: ${detail}`);
  }
  const result = body.data?.result;
  if (body.data?.resultType !== 'matrix' || !Array.isArray(result))
    throw new Error(`query_range ${JSON.stringify(query)}: expected a matrix, got ${body.data?.resultType}`);
  return result as MatrixSeries[];
}

/**
 * Pulls a time window from a Prometheus-compatible `/api/v1/query_range` and appends it to
 * `<out>/metrics.jsonl`, one `{"metric":{…},"values":[[t,"v"],…]}` line per series (the bundle
 * format). Long windows are split so no request exceeds the per-series point limit.
 *
 * @example await exportRange({ prometheus: 'http://127.0.0.1:9090', from: start, to: Date.now(), out: 'run-1' });
 */
export async function exportRange(options: ExportRangeOptions): Promise<ExportRangeResult> {
  const base = options.prometheus.replace(/\/+$/, '');
  const fromMs = epochMs(options.from, 'from');
  const toMs = epochMs(options.to, 'to');
  if (toMs < fromMs) throw new RangeError('to is before from');
  const stepMs = Math.round((options.stepSeconds ?? 1) * 1000);
  if (!(stepMs > 0)) throw new RangeError('stepSeconds must be at least 0.001');
  const maxPoints = Math.min(11_000, Math.floor(options.maxPointsPerRequest ?? 10_000));
  if (!(maxPoints >= 1)) throw new RangeError('maxPointsPerRequest must be at least 1');
  const selectors = options.selectors ?? ['{job=~".+"}'];
  const file = join(options.out, 'metrics.jsonl');
  await mkdir(options.out, { recursive: true });

  const written = new Set<string>();
  let samples = 0;
  let requests = 0;
  for (const selector of selectors) {
    const merged = new Map<string, MatrixSeries>();
    // Chunks of maxPoints evaluation steps, each starting one step after the previous one ended.
    for (let start = fromMs; start <= toMs; start += maxPoints * stepMs) {
      const end = Math.min(toMs, start + (maxPoints - 1) * stepMs);
      const result = await queryRange(base, selector, start, end, stepMs, options);
      requests++;
      for (const series of result) {
        const key = seriesKey(series.metric);
        const existing = merged.get(key);
        if (existing === undefined) merged.set(key, { metric: series.metric, values: [...series.values] });
        else for (const value of series.values) existing.values.push(value);
      }
    }
    const lines: string[] = [];
    for (const [key, series] of merged) {
      if (written.has(key) || series.values.length === 0) continue;
      written.add(key);
      samples += series.values.length;
      lines.push(JSON.stringify({ metric: series.metric, values: series.values }));
    }
    if (lines.length > 0) await appendFile(file, `${lines.join('\n')}\n`);
  }
  return { series: written.size, samples, requests, file };
}
