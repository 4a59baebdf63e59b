import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LabMode } from '../app/app-config.js';
import { runComponent } from '../process/child-component.js';
import { clientPolicy, LoadGenerator } from './load-generator.js';

/** The load generator process: its own process so that its timers are not delayed by the lab. */
export interface LoadConfig {
  readonly target: string;
  readonly mode: LabMode;
  readonly rps: number;
  readonly outcomesFile: string;
}

runComponent<LoadConfig>(async (config) => {
  const registry = new Registry();
  // `upstream` names what the client calls, as a probe's target label does: investigate draws the
  // client → load balancer edge from it, so the client's symptoms are explained downstream
  registry.setDefaultLabels({ service: 'client', instance: 'load-1', upstream: 'lb' });
  const requests = new Counter({
    name: 'client_requests_total',
    help: 'Logical requests ended, by outcome (ok: succeeded within the deadline)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'client_attempts_total',
    help: 'HTTP attempts, retries included',
    registers: [registry],
  });
  const degraded = new Counter({
    name: 'client_degraded_total',
    help: 'Successful requests answered with a degraded (fallback) body',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'client_request_duration_seconds',
    help: 'Logical request latency as the client saw it, retries included',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
    registers: [registry],
  });
  const offered = new Gauge({ name: 'client_offered_rps', help: 'Offered load', registers: [registry] });
  const inFlight = new Gauge({
    name: 'client_in_flight',
    help: 'Logical requests in progress',
    registers: [registry],
    collect() {
      this.set(load.stats().inFlight);
    },
  });
  void inFlight;
  const load = new LoadGenerator({
    target: config.target,
    policy: clientPolicy(config.mode),
    rps: config.rps,
    outcomesFile: config.outcomesFile,
    onOutcome(o) {
      requests.inc({ outcome: o.ok ? 'ok' : 'failed' });
      attempts.inc(o.attempts);
      if (o.ok && o.degraded) degraded.inc();
      duration.observe(o.ms / 1000);
    },
  });
  offered.set(config.rps);
  let started = false;

  const reply = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (m) => reply(res, 200, m, registry.contentType),
        () => reply(res, 500, 'error'),
      );
      return;
    }
    if (path === '/stats') return reply(res, 200, load.stats());
    if (path === '/start' && req.method === 'POST') {
      if (!started) load.start();
      started = true;
      return reply(res, 200, { ok: true });
    }
    const rate = /^\/rate\/(\d+(?:\.\d+)?)$/.exec(path ?? '');
    if (rate !== null && req.method === 'POST') {
      load.setRate(Number(rate[1]));
      offered.set(Number(rate[1]));
      return reply(res, 200, { ok: true });
    }
    if (path === '/finish' && req.method === 'POST') {
      load.stop().then(
        () => reply(res, 200, load.stats()),
        () => reply(res, 500, { error: 'stop failed' }),
      );
      return;
    }
    reply(res, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    info: { port },
    async close() {
      await load.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});
