import { FileReportBuilder } from '../ingest/file-report.js';
import { readPrometheusSeries } from '../ingest/json-documents.js';
import { isObject } from '../ingest/json-fields.js';
import type { TelemetrySink } from '../ingest/telemetry-rows.js';
import { UTC } from '../time/time-zone.js';

export interface PrometheusPullOptions {
  /** Base URL of a Prometheus-compatible API (Prometheus, Thanos, Mimir's `/prometheus`, VictoriaMetrics). */
  readonly url: string;
  /** Window start and end, epoch ms (inclusive). */
  readonly fromMs: number;
  readonly toMs: number;
  /** Series selectors or any PromQL; default every series, `{__name__=~".+"}`. */
  readonly selectors?: readonly string[];
  /** Resolution; default 1 s. */
  readonly stepSeconds?: number;
  /** Points per series per request; default 10 000 (Prometheus refuses more than 11 000). */
  readonly maxPointsPerRequest?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Per-request timeout; default 60 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export const DEFAULT_SELECTOR = '{__name__=~".+"}';

/** A name for the live source in reports and the store's manifest. */
export function prometheusSourceName(options: PrometheusPullOptions): string {
  const selectors = options.selectors ?? [DEFAULT_SELECTOR];
  return `prometheus:${options.url.replace(/\/+$/, '')}?from=${new Date(options.fromMs).toISOString()}&to=${new Date(options.toMs).toISOString()}&step=${options.stepSeconds ?? 1}&${selectors.map((s) => `selector=${encodeURIComponent(s)}`).join('&')}`;
}

/**
 * Pulls the window [fromMs, toMs] from `/api/v1/query_range`, one request per selector and chunk of
 * at most `maxPointsPerRequest` steps, into `sink`. A failing request is reported, not thrown.
 * @example await pullPrometheus({ url: 'http://127.0.0.1:9090', fromMs, toMs }, sink);
 */
export async function pullPrometheus(
  options: PrometheusPullOptions,
  sink: TelemetrySink,
): Promise<FileReportBuilder> {
  const report = new FileReportBuilder(prometheusSourceName(options), 'prometheus-api');
  const base = options.url.replace(/\/+$/, '');
  const stepMs = Math.max(1, Math.round((options.stepSeconds ?? 1) * 1000));
  const maxPoints = Math.max(1, Math.min(11_000, Math.floor(options.maxPointsPerRequest ?? 10_000)));
  const ctx = { sink, report, zone: UTC };
  let requests = 0;
  for (const selector of options.selectors ?? [DEFAULT_SELECTOR]) {
    for (let start = options.fromMs; start <= options.toMs; start += maxPoints * stepMs) {
      const end = Math.min(options.toMs, start + (maxPoints - 1) * stepMs);
      const params = new URLSearchParams({
        query: selector,
        start: String(start / 1000),
        end: String(end / 1000),
        step: String(stepMs / 1000),
      });
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000);
      const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
      requests++;
      let text: string;
      let status: number;
      try {
        const response = await fetch(`${base}/api/v1/query_range?${params}`, {
          headers: { accept: 'application/json', ...options.headers },
          signal,
        });
        status = response.status;
        text = await response.text();
      } catch (e) {
        if (options.signal?.aborted === true) throw e;
        report.reject(0, 'request failed', `${selector}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      report.bytes += text.length;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        report.reject(0, `HTTP ${status}: not JSON`, text);
        continue;
      }
      if (
        !isObject(body) ||
        body.status !== 'success' ||
        !isObject(body.data) ||
        !Array.isArray(body.data.result)
      ) {
        const detail = isObject(body) && typeof body.error === 'string' ? body.error : text;
        report.reject(0, `HTTP ${status}: query failed`, `${selector}: ${detail}`);
        continue;
      }
      for (const series of body.data.result) {
        if (isObject(series)) readPrometheusSeries(series, 0, ctx);
      }
    }
  }
  report.notes.push(`${requests} query_range request${requests === 1 ? '' : 's'}, step ${stepMs / 1000}s`);
  return report;
}
