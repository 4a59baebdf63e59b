import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunningPrometheus, startPrometheus } from '@faultline/observe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { MemorySink } from '../test-support/memory-sink.js';
import { pullPrometheus } from './prometheus-source.js';

const BINARY = '/usr/bin/prometheus';
const haveBinary = existsSync(BINARY);
if (!haveBinary && process.env.CI)
  throw new Error(`${BINARY} is missing: CI must install Debian's prometheus package`);

describe('pullPrometheus without a server', () => {
  it('reports a failed request instead of throwing', async () => {
    const report = (
      await pullPrometheus(
        { url: 'http://127.0.0.1:9', fromMs: 0, toMs: 1000, timeoutMs: 2000 },
        new MemorySink(),
      )
    ).build();
    expect(report.rejectReasons).toEqual({ 'request failed': 1 });
  });
});

describe.skipIf(!haveBinary)('pullPrometheus against a real Prometheus', () => {
  let server: Server | undefined;
  let prom: RunningPrometheus | undefined;
  let started = 0;

  beforeAll(async () => {
    let n = 0;
    server = createServer((_req, res) => {
      n++;
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        `# TYPE queue_depth gauge\nqueue_depth{service="orders"} ${n}\nqueue_depth{service="payments"} ${2 * n}\n`,
      );
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    prom = await startPrometheus({
      targets: [{ url: `http://127.0.0.1:${port}/metrics`, labels: { instance: 'app-1' } }],
      scrapeIntervalMs: 200,
    });
    // Prometheus applies new targets after up to 5 s: wait for the first sample, then record a window.
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${prom.url}/api/v1/query?query=queue_depth`);
      const body = (await r.json()) as { data?: { result?: unknown[] } };
      if ((body.data?.result?.length ?? 0) > 0) break;
      await sleep(200);
    }
    started = Date.now();
    await sleep(2500);
  });

  afterAll(async () => {
    await prom?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  });

  it('pulls only the window, in chunks under the point limit, with labels and services', async () => {
    const url = prom?.url ?? '';
    const sink = new MemorySink();
    const fromMs = Math.floor(started / 1000) * 1000;
    const toMs = fromMs + 2000;
    const report = (
      await pullPrometheus(
        { url, fromMs, toMs, selectors: ['queue_depth'], stepSeconds: 0.2, maxPointsPerRequest: 4 },
        sink,
      )
    ).build();
    expect(report.rejected).toBe(0);
    expect(report.notes[0]).toMatch(/^3 query_range requests/);
    expect(sink.seriesKeys.map((k) => k.labels.service).sort()).toEqual(['orders', 'payments']);
    expect(sink.seriesKeys[0]?.name).toBe('queue_depth');
    for (const s of sink.samples) {
      expect(s.timeMs).toBeGreaterThanOrEqual(fromMs);
      expect(s.timeMs).toBeLessThanOrEqual(toMs);
    }
    expect(sink.samples.length).toBeGreaterThan(4);
  });

  it('investigate() stores the window with the default selector', async () => {
    const url = prom?.url ?? '';
    const { store, report } = await investigate([], {
      prometheus: { url, fromMs: started - 1000, toMs: Date.now() },
    });
    try {
      expect(report.files[0]?.format).toBe('prometheus-api');
      expect(report.services).toEqual(expect.arrayContaining(['orders', 'payments']));
      const series = await store.queries.metricSeries({ name: 'queue_depth', service: 'payments' });
      expect(series[0]?.instance).toBe('app-1');
      expect(series[0]?.values.length).toBeGreaterThan(2);
    } finally {
      await store.close();
    }
  });
});
