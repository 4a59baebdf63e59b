import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import {
  type CacheLike,
  type InstrumentCacheOptions,
  instrumentCache,
  releaseCacheMetrics,
} from './cache/instrument-cache.js';
import { instrumentJobs, releaseJobMetrics } from './jobs/instrument-jobs.js';
import { EventMetrics } from './metrics/event-metrics.js';
import { HttpMetrics, type RouteFn } from './metrics/http-metrics.js';
import { RuntimeMetrics } from './metrics/runtime-metrics.js';
import { instrumentFetch, releaseOutboundMetrics } from './outbound/instrument-fetch.js';
import {
  type InstrumentedPool,
  type InstrumentPoolOptions,
  type PgPoolLike,
  poolMetricsFor,
  releasePoolMetrics,
} from './pool/instrument-pool.js';
import { type FetchLike, tracedFetch, traceHttpServer } from './traces/http.js';
import { tracePool } from './traces/pool.js';
import { type CreateTracingOptions, createTracing, type Tracing } from './traces/tracing.js';

export interface ObserveOptions {
  /** The `service` label on every series. */
  readonly service: string;
  /** The `instance` label; defaults to `hostname:pid`. */
  readonly instance?: string;
  /** Registry to register into; defaults to a new one per observer (never prom-client's global). */
  readonly registry?: Registry;
  /** Bounded route label for a request; defaults to method + first path segment (`GET /users`). */
  readonly route?: RouteFn;
  /** Path `handler` answers on; default `/metrics`. */
  readonly metricsPath?: string;
  /**
   * Traces too: servers and pools instrumented through the observer also get spans, and
   * `observer.fetch` makes client spans that propagate `traceparent`.
   */
  readonly traces?: Omit<CreateTracingOptions, 'service' | 'instance'>;
}

export interface Observer {
  readonly registry: Registry;
  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string>;
  /** Serves GET `/metrics`; returns false (and leaves `res` alone) for any other request. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Counts and times every request `server` answers. */
  instrumentHttpServer(server: Server): void;
  /** Pool gauges, acquire-time histogram and acquire timeouts for a pg `Pool`. */
  instrumentPool(pool: PgPoolLike, options: InstrumentPoolOptions): InstrumentedPool;
  /** The tracing set up by the `traces` option, if any. */
  readonly tracing: Tracing | undefined;
  /** `fetch` counted and timed per dependency, with client spans and `traceparent` when tracing is on. */
  readonly fetch: FetchLike;
  /** Hit/miss/set/error counts and get latency of a cache (and `cache.get` spans with tracing). */
  instrumentCache<C extends CacheLike>(
    cache: C,
    options: Omit<InstrumentCacheOptions, 'registry' | 'tracing'>,
  ): Pick<C, 'get' | 'set'>;
  /** Runs a background job, counting runs, failures, duration and in-progress (and a span). */
  runJob<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  /** Unsubscribes channels, stops the event-loop monitor and GC observer, unhooks servers and pools. */
  shutdown(): void;
  /** {@link Observer.shutdown}, then flushes and stops tracing. */
  close(): Promise<void>;
}

/**
 * Sets up the metrics of a Node HTTP service in one call.
 * @example const obs = observe({ service: 'api' }); obs.instrumentHttpServer(server);
 *   server.on('request', (req, res) => { if (obs.handler(req, res)) return; … });
 */
export function observe(options: ObserveOptions): Observer {
  const ownRegistry = options.registry === undefined;
  const registry = options.registry ?? new Registry();
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  const instance = options.instance ?? `${hostname()}:${process.pid}`;
  registry.setDefaultLabels({ service: options.service, instance });
  const http = new HttpMetrics(registry, options.route === undefined ? {} : { route: options.route });
  const runtime = new RuntimeMetrics(registry);
  const events = new EventMetrics(registry);
  const poolMetrics = poolMetricsFor(registry);
  const pools: InstrumentedPool[] = [];
  const path = options.metricsPath ?? '/metrics';
  const tracing =
    options.traces === undefined
      ? undefined
      : createTracing({ service: options.service, instance, ...options.traces });
  const untrace: (() => void)[] = [];
  const jobs = instrumentJobs({ registry, ...(tracing === undefined ? {} : { tracing }) });
  let closed = false;

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' || (req.url !== path && !req.url?.startsWith(`${path}?`))) return false;
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`metrics collection failed: ${(e as Error).message}\n`);
      },
    );
    return true;
  };

  return {
    registry,
    metrics: () => registry.metrics(),
    handler,
    tracing,
    fetch: instrumentFetch(tracing === undefined ? globalThis.fetch : tracedFetch(tracing), { registry }),
    instrumentCache: (cache, opts) =>
      instrumentCache(cache, { ...opts, registry, ...(tracing === undefined ? {} : { tracing }) }),
    runJob: (name, fn) => jobs.runJob(name, fn),
    instrumentHttpServer: (server) => {
      http.instrument(server);
      if (tracing !== undefined) {
        untrace.push(
          traceHttpServer(server, tracing, options.route === undefined ? {} : { route: options.route }),
        );
      }
    },
    instrumentPool: (pool, opts) => {
      const instrumented = poolMetrics.instrument(pool, opts);
      pools.push(instrumented);
      if (tracing !== undefined) untrace.push(tracePool(pool, tracing, { name: opts.name }));
      return instrumented;
    },
    close: async () => {
      shutdown();
      await tracing?.shutdown();
    },
    shutdown,
  };

  function shutdown(): void {
    if (closed) return;
    closed = true;
    for (const u of untrace.splice(0)) u();
    events.close();
    runtime.close();
    http.close();
    for (const p of pools) p.uninstrument();
    releasePoolMetrics(registry);
    releaseCacheMetrics(registry);
    releaseJobMetrics(registry);
    releaseOutboundMetrics(registry);
    if (ownRegistry) registry.clear();
    else
      for (const m of registry.getMetricsAsArray())
        if (!before.has(m.name)) registry.removeSingleMetric(m.name);
  }
}
