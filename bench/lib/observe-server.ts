/**
 * The service of the observe bench, one process per variant (forked by observe.bench.ts): a
 * node:http server whose handler runs one `select 1` through a pg Pool. `BENCH_VARIANT` says
 * what observes it: `bare`, `metrics_ids` (observe() with logs and request ids, no access-log
 * line), `metrics_logs` (observe() with a file access log), `full` (plus
 * traces exported over OTLP/HTTP), `otel_sdk` / `otel_auto` (preloaded by
 * observe-otel-register.js), or `promclient_pino`: the reference for metrics and logs, what a
 * team writes by hand with prom-client and pino (a labelled histogram and a pino line per
 * response, with a request id), the setup behind the "about 7 µs" figure. The parent asks over IPC for the CPU time spent between two marks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

// Loaded with require, as in a CommonJS service: OpenTelemetry's require hooks see both modules.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const pg = require('pg') as typeof import('pg');

export type BenchVariant =
  | 'bare'
  | 'promclient_pino'
  | 'metrics_ids'
  | 'metrics_logs'
  | 'full'
  | 'otel_sdk'
  | 'otel_auto';

/** Messages from the parent. */
export type ServerCommand = { cmd: 'start' } | { cmd: 'stop' } | { cmd: 'exit' };
/** Messages to the parent. */
export type ServerReport =
  | { kind: 'ready'; port: number }
  | { kind: 'window'; cpuUs: number; served: number; failed: number }
  | { kind: 'closed'; served: number; failed: number; logWriteErrors: number };

const variant = (process.env.BENCH_VARIANT ?? 'bare') as BenchVariant;
// BENCH_OMIT, for finding where the added time goes by hand: a comma list of server, pool, logs, access
const omit = new Set((process.env.BENCH_OMIT ?? '').split(','));
// metrics_ids: metrics_logs without its access-log line (request ids and the logger stay)
if (variant === 'metrics_ids') omit.add('access');
const send = (m: ServerReport) => process.send?.(m);
/** Where logs go: a file, or `stdout`. */
const LOG_FILE = process.env.BENCH_LOG ?? '/dev/null';

const pool = new pg.Pool({
  host: '127.0.0.1',
  port: Number(process.env.BENCH_PG_PORT),
  user: 'postgres',
  database: 'postgres',
  max: 10,
});

// imported only where used: the other variants do not even load the package
const obs =
  variant === 'metrics_logs' || variant === 'metrics_ids' || variant === 'full'
    ? (await import('@faultline/observe')).observe({
        service: 'bench',
        instance: variant,
        ...(omit.has('logs')
          ? {}
          : {
              logs: {
                // BENCH_LOG=stdout: observe()'s default destination
                ...(LOG_FILE === 'stdout' ? {} : { destination: LOG_FILE }),
                accessLog: !omit.has('access'),
                ...(process.env.BENCH_LOG_BUFFER === undefined
                  ? {}
                  : { bufferBytes: Number(process.env.BENCH_LOG_BUFFER) }),
              },
            }),
        ...(variant === 'full' ? { traces: { exporter: { otlpUrl: process.env.BENCH_SINK ?? '' } } } : {}),
      })
    : undefined;

/** The hand-written reference: prom-client's histogram by route and status, a pino line per response. */
function handWritten(): (req: IncomingMessage, res: ServerResponse) => void {
  const client = require('prom-client') as typeof import('prom-client');
  const pino = require('pino') as typeof import('pino');
  const { randomUUID } = require('node:crypto') as typeof import('node:crypto');
  const registry = new client.Registry();
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const log = pino(
    { base: { service: 'bench', instance: variant } },
    // on stdout, pino's default destination (synchronous); a file is written asynchronously
    LOG_FILE === 'stdout' ? pino.destination(1) : pino.destination({ dest: LOG_FILE, sync: false }),
  );
  return (req, res) => {
    const start = performance.now();
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' ? header : randomUUID();
    res.setHeader('x-request-id', requestId);
    res.on('finish', () => {
      const seconds = (performance.now() - start) / 1000;
      const route = req.url ?? '/';
      duration.labels(req.method ?? '', route, String(res.statusCode)).observe(seconds);
      log.info(
        {
          request_id: requestId,
          method: req.method,
          route,
          status: res.statusCode,
          duration_ms: seconds * 1000,
        },
        'request completed',
      );
    });
  };
}
const reference = variant === 'promclient_pino' ? handWritten() : undefined;

let served = 0;
let failed = 0;
const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
  if (obs?.handler(req, res)) return;
  reference?.(req, res);
  pool.query('select 1 as one').then(
    () => {
      served++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    },
    () => {
      failed++;
      res.writeHead(500);
      res.end();
    },
  );
});
server.keepAliveTimeout = 60_000;
if (obs !== undefined) {
  if (!omit.has('server')) obs.instrumentHttpServer(server);
  if (!omit.has('pool')) obs.instrumentPool(pool, { name: 'main' });
}

let mark = { cpu: process.cpuUsage(), served: 0, failed: 0 };
process.on('message', (m: ServerCommand) => {
  if (m.cmd === 'start') {
    mark = { cpu: process.cpuUsage(), served, failed };
  } else if (m.cmd === 'stop') {
    const cpu = process.cpuUsage(mark.cpu);
    send({
      kind: 'window',
      cpuUs: cpu.user + cpu.system,
      served: served - mark.served,
      failed: failed - mark.failed,
    });
  } else if (m.cmd === 'exit') {
    void (async () => {
      server.closeAllConnections();
      server.close();
      await obs?.close();
      await (globalThis as { benchShutdownTelemetry?: () => Promise<void> }).benchShutdownTelemetry?.();
      await pool.end();
      send({ kind: 'closed', served, failed, logWriteErrors: obs?.logStats().writeErrors ?? 0 });
      process.disconnect();
    })();
  }
});

server.listen(0, '127.0.0.1', () => send({ kind: 'ready', port: (server.address() as AddressInfo).port }));
