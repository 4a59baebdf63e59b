import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { type HistogramSeries, PreAggregatedHistogram } from './pre-aggregated-histogram.js';
import { defaultRoute } from './route-label.js';

/** Seconds; fine at the low end where a healthy service lives, up to typical LB timeouts. */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Maps a request to a bounded route label, e.g. `GET /users/:id`. */
export type RouteFn = (req: IncomingMessage) => string;

export interface HttpMetricsOptions {
  readonly route?: RouteFn;
  /** Distinct route labels kept before new ones become `other`. */
  readonly maxRoutes?: number;
}

const ABORTED = -1;
const OTHER = 'other';

/** One (route, status) series: the histogram's, whose count also gives the counters. */
interface Series {
  readonly labels: { readonly route: string; readonly status: string };
  readonly duration: HistogramSeries;
  readonly isError: boolean;
}

/** HTTP server request count, errors (5xx and aborted) and latency by route and status. */
export class HttpMetrics {
  private readonly routeOf: RouteFn;
  private readonly maxRoutes: number;
  // route → status code (or ABORTED) → series; past maxRoutes, new routes count as 'other'
  private readonly routes = new Map<
    string,
    { readonly label: string; readonly series: Map<number, Series> }
  >();
  private readonly duration: PreAggregatedHistogram<'route' | 'status'>;

  constructor(registry: Registry, options: HttpMetricsOptions = {}) {
    const labelNames = ['route', 'status'] as const;
    const all = () => this.allSeries();
    new Counter({
      name: 'http_server_requests_total',
      help: 'HTTP requests answered (or aborted), by route and status',
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of all()) this.inc(s.labels, s.duration.count);
      },
    });
    new Counter({
      name: 'http_server_errors_total',
      help: 'HTTP requests answered with 5xx or aborted before the response finished',
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of all()) if (s.isError) this.inc(s.labels, s.duration.count);
      },
    });
    this.duration = new PreAggregatedHistogram({
      name: 'http_server_request_duration_seconds',
      help: 'Time from request to response finished, by route and status',
      labelNames,
      buckets: HTTP_BUCKETS,
      registry,
    });
    this.routeOf = options.route ?? defaultRoute;
    this.maxRoutes = options.maxRoutes ?? 200;
  }

  /**
   * Counts the response of `req` that closed after `seconds` (aborted if it did not finish);
   * returns the labels it was counted under.
   */
  observeResponse(
    req: IncomingMessage,
    res: ServerResponse,
    seconds: number,
  ): { readonly route: string; readonly status: string } {
    const series = this.seriesOf(this.routeOf(req), res.writableFinished ? res.statusCode : ABORTED);
    series.duration.observe(seconds);
    return series.labels;
  }

  /** Counts one request of `route` answered with `status` (a code, or `aborted`) in `seconds`. */
  record(route: string, status: string, seconds: number): void {
    this.seriesOf(route, status === 'aborted' ? ABORTED : Number(status)).duration.observe(seconds);
  }

  private seriesOf(route: string, code: number): Series {
    let byStatus = this.routes.get(route);
    if (byStatus === undefined) {
      const label = this.routes.size >= this.maxRoutes ? OTHER : route;
      byStatus = this.routes.get(label);
      if (byStatus === undefined) {
        byStatus = { label, series: new Map() };
        this.routes.set(label, byStatus);
      }
    }
    let s = byStatus.series.get(code);
    if (s === undefined) {
      const labels = { route: byStatus.label, status: code === ABORTED ? 'aborted' : String(code) };
      s = {
        labels,
        duration: this.duration.series(labels),
        isError: code === ABORTED || (code >= 500 && code < 600),
      };
      byStatus.series.set(code, s);
    }
    return s;
  }

  private *allSeries(): Iterable<Series> {
    for (const byStatus of this.routes.values()) yield* byStatus.series.values();
  }
}
