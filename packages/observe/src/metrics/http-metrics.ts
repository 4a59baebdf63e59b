import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import { defaultRoute, RouteLimiter } from './route-label.js';

/** Seconds; fine at the low end where a healthy service lives, up to typical LB timeouts. */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Maps a request to a bounded route label, e.g. `GET /users/:id`. */
export type RouteFn = (req: IncomingMessage) => string;

/** Called once per request when it is recorded (e.g. to write the access-log line). */
export type RequestEndFn = (
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  status: string,
  seconds: number,
) => void;

export interface HttpMetricsOptions {
  readonly route?: RouteFn;
  /** Distinct route labels kept before new ones become `other`. */
  readonly maxRoutes?: number;
}

interface Series {
  readonly requests: Counter.Internal;
  readonly errors: Counter.Internal | undefined;
  readonly duration: Histogram.Internal<'route' | 'status'>;
}

/** HTTP server request count, errors (5xx and aborted) and latency by route and status. */
export class HttpMetrics {
  private readonly requests: Counter<'route' | 'status'>;
  private readonly errors: Counter<'route' | 'status'>;
  private readonly duration: Histogram<'route' | 'status'>;
  private readonly routeOf: RouteFn;
  private readonly routes: RouteLimiter;
  // label children cached: prom-client hashes the label set on every call otherwise
  private readonly series = new Map<string, Series>();
  private readonly servers = new Map<Server, (req: IncomingMessage, res: ServerResponse) => void>();

  constructor(registry: Registry, options: HttpMetricsOptions = {}) {
    const labelNames = ['route', 'status'] as const;
    this.requests = new Counter({
      name: 'http_server_requests_total',
      help: 'HTTP requests answered (or aborted), by route and status',
      labelNames,
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'http_server_errors_total',
      help: 'HTTP requests answered with 5xx or aborted before the response finished',
      labelNames,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'Time from request to response finished, by route and status',
      labelNames,
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
    this.routeOf = options.route ?? defaultRoute;
    this.routes = new RouteLimiter(options.maxRoutes ?? 200);
  }

  /**
   * Times every request of `server` until its response finishes or the connection closes;
   * `onEnd` is then called with what was recorded (one listener pair per request serves both).
   */
  instrument(server: Server, onEnd?: RequestEndFn): void {
    if (this.servers.has(server)) return;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const start = performance.now();
      // a response emits 'close' once, after 'finish' or when the connection closed first: one
      // listener serves both (and is the cheapest way to hear of either)
      res.on('close', () => {
        const status = res.writableFinished ? String(res.statusCode) : 'aborted';
        const route = this.routeOf(req);
        const seconds = (performance.now() - start) / 1000;
        this.record(route, status, seconds);
        onEnd?.(req, res, route, status, seconds);
      });
    };
    this.servers.set(server, onRequest);
    server.on('request', onRequest);
  }

  record(route: string, status: string, seconds: number): void {
    const label = this.routes.label(route);
    const key = `${label}\u0000${status}`;
    let s = this.series.get(key);
    if (s === undefined) {
      const isError = status === 'aborted' || status.startsWith('5');
      s = {
        requests: this.requests.labels(label, status),
        errors: isError ? this.errors.labels(label, status) : undefined,
        duration: this.duration.labels(label, status),
      };
      this.series.set(key, s);
    }
    s.requests.inc();
    s.errors?.inc();
    s.duration.observe(seconds);
  }

  close(): void {
    for (const [server, listener] of this.servers) server.off('request', listener);
    this.servers.clear();
  }
}
