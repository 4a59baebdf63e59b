import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { DestinationStream, LevelWithSilent, Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  type CacheLike,
  type InstrumentCacheOptions,
  instrumentCache,
  releaseCacheMetrics,
} from './cache/instrument-cache.js';
import { instrumentJobs, releaseJobMetrics } from './jobs/instrument-jobs.js';
import { type AccessLogFn, accessLog as makeAccessLog } from './logs/access-log.js';
import {
  defaultStdout,
  type FileDestination,
  fileDestination,
  type LogWriteStats,
  stdoutDestination,
} from './logs/file-destination.js';
import { buildLogger } from './logs/logger.js';
import { wantRequestContext } from './logs/request-context.js';
import { EventMetrics } from './metrics/event-metrics.js';
import { FastRegistry } from './metrics/fast-registry.js';
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
import { instrumentServer } from './server/instrument-server.js';
import { type FetchLike, tracedFetch } from './traces/http.js';
import { tracePool } from './traces/pool.js';
import { type CreateTracingOptions, createTracing, type Tracing } from './traces/tracing.js';

/** Requests whose access lines are formatted together, into a buffered log file. */
const ACCESS_LOG_BATCH = 64;

export interface ObserveOptions {
  /** The `service` label on every series. */
  readonly service: string;
  /** The `instance` label; defaults to `hostname:pid`. */
  readonly instance?: string;
  /**
   * Registry to register into; defaults to a new {@link FastRegistry} per observer (never
   * prom-client's global). A plain prom-client `Registry` works too, but renders the `service` and
   * `instance` labels once per series: about three times the cost of a scrape.
   */
  readonly registry?: Registry;
  /** Bounded route label for a request; defaults to method + first path segment (`GET /users`). */
  readonly route?: RouteFn;
  /**
   * The name of the dependency `observer.fetch` calls: the bounded `dependency` label of the
   * outbound metrics and, with traces, `peer.service` of the client spans (how service graphs and
   * `faultline investigate` name an uninstrumented API). Default: the URL's host (`pricing:8080`),
   * and no `peer.service`.
   */
  readonly dependency?: (url: URL) => string;
  /** Path `handler` answers on; default `/metrics`. */
  readonly metricsPath?: string;
  /**
   * Traces too: servers and pools instrumented through the observer also get spans, and
   * `observer.fetch` makes client spans that propagate `traceparent`.
   */
  readonly traces?: Omit<CreateTracingOptions, 'service' | 'instance'>;
  /**
   * Logs too: `observer.log` is a pino logger whose lines carry service, instance, the request id
   * (and trace ids with `traces`) and, on errors, the first instrumented pool's state; requests of
   * servers instrumented through the observer run in their request context and, by default, get
   * one access-log line each.
   */
  readonly logs?: ObserveLogsOptions;
}

export interface ObserveLogsOptions {
  /**
   * A file path (written asynchronously through a buffer, flushed by `close()`; a failing disk is
   * counted, never thrown), a pino destination stream, or stdout by default.
   */
  readonly destination?: DestinationStream | string;
  /** Lowest level written; default `info`. */
  readonly level?: LevelWithSilent;
  /** One `request completed` line per request answered; default true. */
  readonly accessLog?: boolean;
  /**
   * Sets `x-request-id` on every response (the id taken from the request, or generated); default
   * true. A header set before the handler's own `writeHead` puts Node on its slower path for
   * writing the head: about 4 µs of CPU per request in the observe bench.
   */
  readonly echoRequestId?: boolean;
  /**
   * Bytes buffered before a write to the file or to stdout; default 16384 (a line waits at most
   * 1 s in a file, 250 ms on stdout; an error line is written at once with the lines before it).
   * 0 writes each line as it comes: on stdout, no line is lost to a SIGKILL.
   */
  readonly bufferBytes?: number;
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
  /**
   * The logger set up by the `logs` option, if any. Reading it turns on the request context of
   * instrumented servers (an AsyncLocalStorage, which costs CPU on every request): read it before
   * serving, so that lines logged after an `await` by requests already running carry their id.
   */
  readonly log: Logger | undefined;
  /** Failed writes and dropped bytes of the `logs` file or of stdout (zeros for a stream of your own). */
  logStats(): LogWriteStats;
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
  /** {@link Observer.shutdown}, then flushes and stops tracing and writes and closes the log file. */
  close(): Promise<void>;
}

/**
 * Sets up the metrics of a Node HTTP service in one call.
 * @example const obs = observe({ service: 'api' }); obs.instrumentHttpServer(server);
 *   server.on('request', (req, res) => { if (obs.handler(req, res)) return; … });
 */
export function observe(options: ObserveOptions): Observer {
  const ownRegistry = options.registry === undefined;
  // our own registry renders default labels once per scrape, not once per series
  const registry = options.registry ?? new FastRegistry();
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
  const servers = new Set<Server>();
  const jobs = instrumentJobs({ registry, ...(tracing === undefined ? {} : { tracing }) });
  const logs = options.logs === undefined ? undefined : setUpLogs(options.logs);
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
    get log() {
      // lines logged inside handlers need the request id after their awaits too
      if (logs !== undefined) wantRequestContext();
      return logs?.log;
    },
    logStats: () => logs?.file?.stats() ?? { writeErrors: 0, droppedBytes: 0 },
    fetch: instrumentFetch(
      tracing === undefined
        ? globalThis.fetch
        : tracedFetch(
            tracing,
            globalThis.fetch,
            options.dependency === undefined ? {} : { peerService: options.dependency },
          ),
      { registry, ...(options.dependency === undefined ? {} : { dependency: options.dependency }) },
    ),
    instrumentCache: (cache, opts) =>
      instrumentCache(cache, { ...opts, registry, ...(tracing === undefined ? {} : { tracing }) }),
    runJob: (name, fn) => jobs.runJob(name, fn),
    instrumentHttpServer: (server) => {
      if (closed || servers.has(server)) return;
      servers.add(server);
      untrace.push(
        instrumentServer(server, {
          metrics: http,
          requestIds: logs !== undefined,
          echoRequestId: options.logs?.echoRequestId,
          accessLog: logs?.accessLog,
          tracing,
          route: options.route,
        }),
      );
    },
    instrumentPool: (pool, opts) => {
      const instrumented = poolMetrics.instrument(pool, opts);
      pools.push(instrumented);
      if (tracing !== undefined)
        untrace.push(
          tracePool(pool, tracing, {
            name: opts.name,
            ...(opts.peerService === undefined ? {} : { peerService: opts.peerService }),
          }),
        );
      return instrumented;
    },
    close: async () => {
      shutdown();
      await Promise.all([tracing?.shutdown(), logs?.file?.close()]);
    },
    shutdown,
  };

  function setUpLogs(o: ObserveLogsOptions): {
    log: Logger;
    file: FileDestination | undefined;
    accessLog: AccessLogFn | undefined;
    undrain: (() => void) | undefined;
  } {
    const bufferBytes = o.bufferBytes ?? 16384;
    const file =
      typeof o.destination === 'string'
        ? fileDestination(o.destination, { bufferBytes })
        : o.destination === undefined
          ? o.bufferBytes === undefined
            ? defaultStdout()
            : stdoutDestination({ bufferBytes })
          : undefined;
    const destination = file?.stream ?? (o.destination as DestinationStream);
    const log = buildLogger({
      service: options.service,
      instance,
      destination,
      ...(o.level === undefined ? {} : { level: o.level }),
      ...(tracing === undefined ? {} : { getActiveSpanContext: tracing.getActiveSpanContext }),
      poolState: () => {
        const first = pools[0];
        return first === undefined ? {} : { ...first.poolState() };
      },
    });
    // Into a buffered file or stdout, access lines are held and formatted 64 at a time (see `accessLog`); the
    // file drains them before it takes any other line and before each flush.
    const accessLog =
      o.accessLog === false
        ? undefined
        : makeAccessLog(log, {
            destination,
            service: options.service,
            instance,
            ...(file?.buffered === true ? { batch: ACCESS_LOG_BATCH } : {}),
          });
    const undrain =
      accessLog !== undefined && file?.buffered === true ? file.onDrain(accessLog.drain) : undefined;
    return { log, file, accessLog, undrain };
  }

  function shutdown(): void {
    if (closed) return;
    closed = true;
    // wrappers come off in reverse order, so each restores the one below it
    for (const u of untrace.splice(0).reverse()) u();
    if (logs !== undefined) {
      // a line logged after shutdown must not throw into the service from a closed file (stdout
      // stays open)
      if (typeof options.logs?.destination === 'string') logs.log.level = 'silent';
      // the access log's held lines are written by the flush below; then it lets go of the stream
      void logs.file?.close();
      logs.undrain?.();
    }
    events.close();
    runtime.close();
    servers.clear();
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
