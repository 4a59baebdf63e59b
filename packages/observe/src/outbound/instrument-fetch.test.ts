import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryTracing } from '../jobs/memory-tracing.fixtures.js';
import { tracedFetch } from '../traces/http.js';
import { instrumentFetch, outboundMetrics, statusClass } from './instrument-fetch.js';

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('instrumentFetch', () => {
  let registry: Registry;
  let server: Server;
  let port: number;
  let refusedPort: number;
  let traced: ReturnType<typeof memoryTracing> | undefined;
  const seenTraceparent: (string | undefined)[] = [];

  beforeEach(async () => {
    registry = new Registry();
    seenTraceparent.length = 0;
    server = createServer((req, res) => {
      seenTraceparent.push(req.headers.traceparent as string | undefined);
      res.writeHead(req.url === '/down' ? 503 : 200, { connection: 'close' });
      res.end('x');
    });
    port = await listen(server);
    // a port that was just free: nothing listens there
    const probe = createServer();
    refusedPort = await listen(probe);
    await new Promise((r) => probe.close(r));
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    registry.clear();
    await traced?.close();
    traced = undefined;
  });

  it('counts a call in flight from its start to its answer or failure', async () => {
    // a second server that answers only when told to
    let release: (() => void) | undefined;
    const slow = createServer((_req, res) => {
      release = () => {
        res.writeHead(200, { connection: 'close' });
        res.end('late');
      };
    });
    const slowPort = await listen(slow);
    try {
      const fetch = instrumentFetch(globalThis.fetch, {
        registry,
        dependency: (u) => (u.port === String(slowPort) ? 'pricing' : 'other'),
      });
      const inFlight = async () => {
        const m = await registry.getSingleMetric('http_client_requests_in_flight')?.get();
        return Object.fromEntries((m?.values ?? []).map((v) => [String(v.labels.dependency), v.value]));
      };
      const pending = fetch(`http://127.0.0.1:${slowPort}/price`);
      while (release === undefined) await new Promise((r) => setTimeout(r, 5));
      expect(await inFlight()).toEqual({ pricing: 1 });
      release();
      expect((await pending).status).toBe(200);
      expect(await inFlight()).toEqual({ pricing: 0 });
      // a call that fails leaves flight too
      await expect(fetch(`http://127.0.0.1:${refusedPort}/x`)).rejects.toThrow();
      expect(await inFlight()).toEqual({ pricing: 0, other: 0 });
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });

  it('counts and times calls by dependency (host by default), method and status class', async () => {
    const fetch = instrumentFetch(globalThis.fetch, { registry });
    expect((await fetch(`http://127.0.0.1:${port}/ok`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/ok`, { method: 'post', body: 'a' })).status).toBe(200);
    const down = await fetch(new Request(`http://127.0.0.1:${port}/down`));
    expect(down.status).toBe(503);
    await down.text();
    await expect(fetch(`http://127.0.0.1:${refusedPort}/`)).rejects.toThrow();

    const text = await registry.metrics();
    const dep = `127.0.0.1:${port}`;
    expect(text).toContain(
      `http_client_requests_total{dependency="${dep}",method="GET",status_class="2xx"} 1`,
    );
    expect(text).toContain(
      `http_client_requests_total{dependency="${dep}",method="POST",status_class="2xx"} 1`,
    );
    expect(text).toContain(
      `http_client_requests_total{dependency="${dep}",method="GET",status_class="5xx"} 1`,
    );
    expect(text).toContain(
      `http_client_requests_total{dependency="127.0.0.1:${refusedPort}",method="GET",status_class="error"} 1`,
    );
    expect(text).toContain(
      `http_client_request_duration_seconds_count{dependency="${dep}",method="GET",status_class="5xx"} 1`,
    );
  });

  it('uses the dependency function and bounds methods', async () => {
    const fetch = instrumentFetch(globalThis.fetch, { registry, dependency: () => 'inventory' });
    await (await fetch(`http://127.0.0.1:${port}/`, { method: 'PROPFIND' })).text();
    expect(await registry.getSingleMetricAsString('http_client_requests_total')).toContain(
      'http_client_requests_total{dependency="inventory",method="OTHER",status_class="2xx"} 1',
    );
    expect(outboundMetrics({ registry })).toBe(outboundMetrics({ registry }));
    expect([199, 204, 302, 404, 599].map(statusClass)).toEqual(['1xx', '2xx', '3xx', '4xx', '5xx']);
  });

  it('composes with tracedFetch either way round', async () => {
    traced = memoryTracing();
    const outer = instrumentFetch(tracedFetch(traced.tracing), { registry });
    const inner = tracedFetch(traced.tracing, instrumentFetch(globalThis.fetch, { registry }));
    await (await outer(`http://127.0.0.1:${port}/ok`)).text();
    await (await inner(`http://127.0.0.1:${port}/down`)).text();
    await expect(inner(`http://127.0.0.1:${refusedPort}/`)).rejects.toThrow();

    const text = await registry.metrics();
    expect(text).toContain(`dependency="127.0.0.1:${port}",method="GET",status_class="2xx"} 1`);
    expect(text).toContain(`dependency="127.0.0.1:${port}",method="GET",status_class="5xx"} 1`);
    expect(text).toContain(`dependency="127.0.0.1:${refusedPort}",method="GET",status_class="error"} 1`);
    const spans = traced.exporter.getFinishedSpans();
    expect(spans).toHaveLength(3);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([200, 503, undefined]);
    expect(seenTraceparent).toHaveLength(2);
    for (const [i, tp] of seenTraceparent.entries())
      expect(tp).toContain(spans[i]?.spanContext().spanId ?? 'missing');
  });
});
