import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { BackendHealth, type BackendHealthState, type RequestFailure } from './backend-health.js';
import { BackendPicker } from './backend-picker.js';
import { BalancerMetrics } from './balancer-metrics.js';
import type { BalancerEvent, BalancerOptions } from './balancer-options.js';
import { errorText, HealthChecker } from './health-checker.js';

/** A backend's state with where it lives and what it is doing now. */
export interface BackendState extends BackendHealthState {
  readonly url: string;
  readonly inFlight: number;
}

export interface RunningBalancer {
  readonly port: number;
  readonly adminPort: number;
  /** Base URL of the traffic port, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  state(): BackendState[];
  /** Stops the timers, aborts requests in flight, closes both servers and every pooled socket. */
  close(): Promise<void>;
}

/** The classic body of a balancer with nothing to route to (Envoy's, and what users search for). */
export const NO_HEALTHY_UPSTREAM = 'no healthy upstream';

/** Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
]);

/**
 * Starts the lab's load balancer: an HTTP reverse proxy with active health checks, passive
 * ejection, a cap on ejections, panic mode and slow start, plus an admin port serving `/metrics`
 * and `/state`.
 * @example const lb = await startBalancer({ ...baselineBalancer, backends: [{ id: 'app-1', url }] });
 */
export async function startBalancer(options: BalancerOptions): Promise<RunningBalancer> {
  const host = options.host ?? '127.0.0.1';
  const ids = options.backends.map((b) => b.id);
  if (new Set(ids).size !== ids.length) throw new TypeError(`backend ids must be unique: ${ids.join(', ')}`);
  const urls = options.backends.map((b) => new URL(b.url));
  const outstanding: number[] = ids.map(() => 0);
  const upstreamTimeoutMs = options.upstreamTimeoutMs;
  if (options.eventsFile !== undefined) mkdirSync(dirname(options.eventsFile), { recursive: true });

  let metrics: BalancerMetrics | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const emit = (event: BalancerEvent): void => {
    metrics?.event(event);
    // events are rare and must survive a kill right after: a synchronous append is the simple, durable choice
    if (options.eventsFile !== undefined) appendFileSync(options.eventsFile, `${JSON.stringify(event)}\n`);
    options.onEvent?.(event);
    if (event.kind === 'lb.eject' || event.kind === 'lb.return') armExpiry();
  };
  const health = new BackendHealth(
    ids,
    {
      unhealthyThreshold: options.healthCheck.unhealthyThreshold,
      healthyThreshold: options.healthCheck.healthyThreshold,
      passive: options.passive,
      maxEjectionPercent: options.maxEjectionPercent,
      panicThresholdPercent: options.panicThresholdPercent,
      slowStartMs: options.slowStartMs,
    },
    emit,
  );
  metrics = new BalancerMetrics(ids, health, outstanding);
  const m = metrics;
  const picker = new BackendPicker(ids.length, options.algorithm ?? 'round-robin');

  /** One timer for the earliest end of a passive ejection. */
  function armExpiry(): void {
    if (expiryTimer !== undefined) clearTimeout(expiryTimer);
    expiryTimer = undefined;
    const next = health.nextExpiry();
    if (next === undefined || closed) return;
    expiryTimer = setTimeout(
      () => {
        expiryTimer = undefined;
        health.tick(Date.now());
        armExpiry();
      },
      Math.max(0, next - Date.now()),
    );
  }

  const checker = new HealthChecker(urls, options.healthCheck, (index, result) => {
    const id = ids[index] ?? '';
    m.healthCheck(id, result.seconds, result.kind);
    health.recordCheck(index, result.failure, Date.now());
  });

  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', maxFreeSockets: 256 });
  let nowForWeights = 0;
  const weightOf = (i: number): number => health.weight(i, nowForWeights);

  const server = http.createServer((req, res) => {
    const started = performance.now();
    const header = req.headers['x-request-id'];
    const requestId = (Array.isArray(header) ? header[0] : header) || randomUUID();
    nowForWeights = Date.now();
    const index = picker.pick(health.routable(), weightOf, outstanding);
    const target = index === undefined ? undefined : urls[index];
    if (index === undefined || target === undefined) {
      respond(res, 503, NO_HEALTHY_UPSTREAM, requestId);
      m.request('none', 503, (performance.now() - started) / 1000);
      return;
    }
    const id = ids[index] ?? '';
    outstanding[index] = (outstanding[index] ?? 0) + 1;

    let done = false;
    /** Accounts for the request once; `failure` feeds passive ejection unless `judge` is false (client went away). */
    const finish = (code: number, failure: RequestFailure | undefined, judge = true): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      outstanding[index] = (outstanding[index] ?? 1) - 1;
      if (judge) health.recordOutcome(index, failure, Date.now());
      m.request(id, code, (performance.now() - started) / 1000);
    };

    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers['x-request-id'] = requestId;
    headers.host = target.host;
    const remote = req.socket.remoteAddress;
    if (remote !== undefined) {
      const prior = req.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = prior === undefined ? remote : `${prior}, ${remote}`;
    }

    const upstream = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    // covers the whole exchange, like Envoy's route timeout: a backend that answers headers then stalls still times out
    const timer = setTimeout(() => {
      const detail = `timeout after ${upstreamTimeoutMs}ms`;
      if (res.headersSent) res.destroy();
      else respond(res, 504, 'upstream request timeout', requestId);
      upstream.destroy();
      finish(504, { kind: 'error', detail });
    }, upstreamTimeoutMs);

    upstream.once('response', (answer) => {
      const status = answer.statusCode ?? 502;
      const out: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      }
      out['x-request-id'] = requestId;
      out['x-upstream-id'] = id;
      res.writeHead(status, out);
      answer.pipe(res);
      const failure: RequestFailure | undefined =
        status >= 500 ? { kind: '5xx', detail: `HTTP ${status}` } : undefined;
      res.once('finish', () => finish(status, failure));
      answer.once('error', (err) => {
        res.destroy();
        finish(status, { kind: 'error', detail: errorText(err) });
      });
    });
    upstream.once('error', (err) => {
      if (done) return;
      const detail = errorText(err);
      if (res.headersSent) res.destroy();
      else
        respond(
          res,
          502,
          `upstream connect error or disconnect/reset before headers. reset reason: ${detail}`,
          requestId,
        );
      finish(502, { kind: 'error', detail });
    });
    res.once('close', () => {
      if (done) return;
      // the client gave up: not the backend's fault, so it does not count toward ejection (Envoy's 499)
      upstream.destroy();
      finish(499, undefined, false);
    });
    req.pipe(upstream);
  });

  const admin = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      m.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': m.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/state') {
      const body = JSON.stringify({ panic: health.panic, healthy: health.healthyCount(), backends: state() });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });

  function state(): BackendState[] {
    const now = Date.now();
    return health
      .snapshot(now)
      .map((s, i) => ({ ...s, url: options.backends[i]?.url ?? '', inFlight: outstanding[i] ?? 0 }));
  }

  try {
    await listen(server, host, options.port ?? 0);
    await listen(admin, host, options.adminPort ?? 0);
  } catch (err) {
    await Promise.all([closeServer(server), closeServer(admin)]);
    agent.destroy();
    throw err;
  }
  checker.start();

  const port = (server.address() as AddressInfo).port;
  const adminPort = (admin.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    adminPort,
    url: `http://${urlHost}:${port}`,
    state,
    async close() {
      if (closed) return;
      closed = true;
      checker.stop();
      if (expiryTimer !== undefined) clearTimeout(expiryTimer);
      await Promise.all([closeServer(server), closeServer(admin)]);
      agent.destroy();
    },
  };
}

function respond(res: http.ServerResponse, status: number, body: string, requestId: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
  });
  res.end(body);
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Closes a server now: in-flight and idle keep-alive connections are destroyed, not waited for. */
function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
