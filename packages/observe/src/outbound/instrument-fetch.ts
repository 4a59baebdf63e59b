import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HTTP_BUCKETS } from '../metrics/http-metrics.js';
import { RouteLimiter } from '../metrics/route-label.js';
import type { FetchLike } from '../traces/http.js';

/** `2xx`…`5xx` from the response status, or `error` when no response came (refused, reset, aborted). */
export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'error';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

export function statusClass(status: number): StatusClass {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return '1xx';
}

export interface OutboundMetricsOptions {
  readonly registry: Registry;
}

type Labels = 'dependency' | 'method' | 'status_class';

interface Series {
  readonly requests: Counter.Internal;
  readonly duration: Histogram.Internal<Labels>;
}

/** Outgoing HTTP call count and latency by dependency, method and status class, for one registry. */
export class OutboundMetrics {
  private readonly requests: Counter<Labels>;
  private readonly duration: Histogram<Labels>;
  private readonly series = new Map<string, Series>();
  private readonly dependencies: RouteLimiter;
  /** Calls started and not yet answered, per dependency label. */
  private readonly inFlight = new Map<string, number>();

  constructor(registry: Registry, maxDependencies = 100) {
    const inFlight = this.inFlight;
    // A call that hangs is counted here from its start; the histogram sees it only once it ends
    // (30 s later, or never): the first sign of scenario 7's slow dependency without a timeout.
    new Gauge({
      name: 'http_client_requests_in_flight',
      help: 'Outgoing HTTP calls started and not yet answered (or failed), by dependency',
      labelNames: ['dependency'],
      registers: [registry],
      collect() {
        for (const [dependency, n] of inFlight) this.set({ dependency }, n);
      },
    });
    const labelNames = ['dependency', 'method', 'status_class'] as const;
    this.requests = new Counter({
      name: 'http_client_requests_total',
      help: 'Outgoing HTTP calls by dependency, method and status class (error: no response)',
      labelNames,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'http_client_request_duration_seconds',
      help: 'Outgoing HTTP call time to response headers (or failure), by dependency, method and status class',
      labelNames,
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
    this.dependencies = new RouteLimiter(maxDependencies);
  }

  /** A call to `dependency` starts; returns its label, to pass to {@link record} when it ends. */
  begin(dependency: string): string {
    const dep = this.dependencies.label(dependency);
    this.inFlight.set(dep, (this.inFlight.get(dep) ?? 0) + 1);
    return dep;
  }

  /**
   * Records one call; past 100 distinct dependencies, new ones are `other`. `started`: the call
   * was counted in flight by {@link begin}, and no longer is.
   */
  record(dependency: string, method: string, status: StatusClass, seconds: number, started = false): void {
    const dep = this.dependencies.label(dependency);
    if (started) this.inFlight.set(dep, Math.max(0, (this.inFlight.get(dep) ?? 1) - 1));
    const m = METHODS.has(method) ? method : 'OTHER';
    const key = `${dep}\u0000${m}\u0000${status}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = { requests: this.requests.labels(dep, m, status), duration: this.duration.labels(dep, m, status) };
      this.series.set(key, s);
    }
    s.requests.inc();
    s.duration.observe(seconds);
  }
}

const perRegistry = new WeakMap<Registry, OutboundMetrics>();

/** The OutboundMetrics of `registry`, created on first use (metric names are registered once). */
export function outboundMetrics(options: OutboundMetricsOptions): OutboundMetrics {
  let metrics = perRegistry.get(options.registry);
  if (metrics === undefined) {
    metrics = new OutboundMetrics(options.registry);
    perRegistry.set(options.registry, metrics);
  }
  return metrics;
}

/** Forgets the OutboundMetrics of `registry` (after its metrics were removed from it). */
export function releaseOutboundMetrics(registry: Registry): void {
  perRegistry.delete(registry);
}

export interface InstrumentFetchOptions {
  readonly registry: Registry;
  /**
   * The bounded `dependency` label of a call, e.g. `(url) => url.hostname === 'inventory' ? 'inventory' : 'other'`.
   * Default: the URL's host (`inventory:8080`).
   */
  readonly dependency?: (url: URL) => string;
}

const defaultDependency = (url: URL): string => url.host;

/**
 * A `fetch` that counts and times every call by dependency, method and status class (timed to the
 * response headers; a call that throws is `error`). Composes with `tracedFetch` either way round:
 * `instrumentFetch(tracedFetch(tracing), …)` or `tracedFetch(tracing, instrumentFetch(fetch, …))`.
 * @example const fetch = instrumentFetch(globalThis.fetch, { registry });
 */
export function instrumentFetch(fetchImpl: FetchLike, options: InstrumentFetchOptions): FetchLike {
  const metrics = outboundMetrics(options);
  const dependencyOf = options.dependency ?? defaultDependency;
  return async function fetch(input, init) {
    const isRequest = typeof Request !== 'undefined' && input instanceof Request;
    let dependency: string;
    try {
      dependency = dependencyOf(new URL(isRequest ? input.url : input));
    } catch {
      dependency = 'unknown';
    }
    const method = (init?.method ?? (isRequest ? input.method : 'GET')).toUpperCase();
    const label = metrics.begin(dependency);
    const start = performance.now();
    let res: Response;
    try {
      res = await fetchImpl(input, init);
    } catch (e) {
      metrics.record(label, method, 'error', (performance.now() - start) / 1000, true);
      throw e;
    }
    metrics.record(label, method, statusClass(res.status), (performance.now() - start) / 1000, true);
    return res;
  };
}
