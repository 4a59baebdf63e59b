import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { EventMetrics } from './metrics/event-metrics.js';
import { HttpMetrics, type RouteFn } from './metrics/http-metrics.js';
import { RuntimeMetrics } from './metrics/runtime-metrics.js';
import {
  type InstrumentedPool,
  type InstrumentPoolOptions,
  type PgPoolLike,
  poolMetricsFor,
  releasePoolMetrics,
} from './pool/instrument-pool.js';

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
  /** Unsubscribes channels, stops the event-loop monitor and GC observer, unhooks servers and pools. */
  shutdown(): void;
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
  registry.setDefaultLabels({
    service: options.service,
    instance: options.instance ?? `${hostname()}:${process.pid}`,
  });
  const http = new HttpMetrics(registry, options.route === undefined ? {} : { route: options.route });
  const runtime = new RuntimeMetrics(registry);
  const events = new EventMetrics(registry);
  const poolMetrics = poolMetricsFor(registry);
  const pools: InstrumentedPool[] = [];
  const path = options.metricsPath ?? '/metrics';
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
    instrumentHttpServer: (server) => http.instrument(server),
    instrumentPool: (pool, opts) => {
      const instrumented = poolMetrics.instrument(pool, opts);
      pools.push(instrumented);
      return instrumented;
    },
    shutdown: () => {
      if (closed) return;
      closed = true;
      events.close();
      runtime.close();
      http.close();
      for (const p of pools) p.uninstrument();
      releasePoolMetrics(registry);
      if (ownRegistry) registry.clear();
      else
        for (const m of registry.getMetricsAsArray())
          if (!before.has(m.name)) registry.removeSingleMetric(m.name);
    },
  };
}
