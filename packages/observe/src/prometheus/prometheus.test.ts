import { existsSync } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { type Observer, observe } from '../observe.js';
import { exportRange } from './export-range.js';
import { prometheusConfig, type RunningPrometheus, startPrometheus } from './start-prometheus.js';

const BINARY = '/usr/bin/prometheus';
const haveBinary = existsSync(BINARY);
if (!haveBinary && process.env.CI)
  throw new Error(`${BINARY} is missing: CI must install Debian's prometheus package for the observe tests`);

interface Line {
  metric: Record<string, string>;
  values: [number, string][];
}

describe('prometheusConfig', () => {
  it('puts each target in its own group with scheme, path, query and labels', () => {
    const config = JSON.parse(
      prometheusConfig([{ url: 'https://h:1/x/metrics?a=b', labels: { instance: 'app-1' } }], 1000, 'lab'),
    );
    expect(config.global.scrape_interval).toBe('1000ms');
    expect(config.scrape_configs[0].job_name).toBe('lab');
    expect(config.scrape_configs[0].static_configs[0]).toEqual({
      targets: ['h:1'],
      labels: { __scheme__: 'https', __metrics_path__: '/x/metrics', __param_a: 'b', instance: 'app-1' },
    });
  });
});

describe('startPrometheus', () => {
  it('fails clearly when the binary is missing and removes its folder', async () => {
    await expect(startPrometheus({ targets: [], binary: '/nonexistent/prometheus-binary' })).rejects.toThrow(
      /Prometheus binary not found: '\/nonexistent\/prometheus-binary'/,
    );
  });
});

describe.skipIf(!haveBinary)('a real Prometheus scraping an instrumented service', () => {
  let obs: Observer | undefined;
  let server: Server | undefined;
  let prom: RunningPrometheus | undefined;
  let out: string | undefined;

  afterAll(async () => {
    await prom?.stop();
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    }
    obs?.shutdown();
    if (out !== undefined) await rm(out, { recursive: true, force: true });
  });

  it('scrapes at 1 s and exports the window as bundle metrics', async () => {
    const startedAt = Date.now();
    out = await mkdtemp(join(tmpdir(), 'observe-prom-export-'));
    const o = observe({ service: 'orders', instance: 'app-1' });
    obs = o;
    const s = createServer((req, res) => {
      if (o.handler(req, res)) return;
      res.end('ok');
    });
    server = s;
    o.instrumentHttpServer(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;

    const p = await startPrometheus({
      targets: [{ url: `${base}/metrics`, labels: { env: 'test' } }],
      scrapeIntervalMs: 1000,
      binary: BINARY,
    });
    prom = p;
    for (let i = 0; i < 5; i++) await (await fetch(`${base}/orders`)).text();

    // Wait until Prometheus holds at least 3 raw samples of the request counter.
    const counter = 'http_server_requests_total{route="GET /orders",status="200"}';
    let raw: [number, string][] = [];
    for (const deadline = Date.now() + 12_000; Date.now() < deadline; await sleep(250)) {
      const q = new URLSearchParams({ query: `${counter}[1m]` });
      const body = (await (await fetch(`${p.url}/api/v1/query?${q}`)).json()) as {
        data: { result: { values: [number, string][] }[] };
      };
      raw = body.data.result[0]?.values ?? [];
      if (raw.length >= 3) break;
    }
    expect(raw.length).toBeGreaterThanOrEqual(3);
    // Scraped every second (timestamps are the scrape start, so allow some jitter).
    for (let i = 1; i < raw.length; i++) {
      const gap = (raw[i]?.[0] ?? 0) - (raw[i - 1]?.[0] ?? 0);
      expect(gap).toBeGreaterThan(0.5);
      expect(gap).toBeLessThan(1.5);
    }

    // A window reaching 1 s past the third sample holds at least 3 evaluation steps after the first.
    await sleep(Math.max(0, ((raw.at(-1)?.[0] ?? 0) + 1.05) * 1000 - Date.now()));
    const result = await exportRange({ prometheus: p.url, from: startedAt, to: Date.now(), out });
    expect(result.series).toBeGreaterThan(10);
    expect(result.requests).toBe(1);

    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    expect(lines).toHaveLength(result.series);
    const requests = lines.find(
      (l) =>
        l.metric.__name__ === 'http_server_requests_total' &&
        l.metric.route === 'GET /orders' &&
        l.metric.status === '200',
    );
    expect(requests?.metric).toMatchObject({ job: 'faultline', env: 'test', service: 'orders' });
    expect(requests?.metric.instance).toBe(`127.0.0.1:${port}`);
    const values = requests?.values ?? [];
    expect(values.length).toBeGreaterThanOrEqual(3);
    expect(values.at(-1)?.[1]).toBe('5');
    for (let i = 1; i < values.length; i++)
      expect((values[i]?.[0] ?? 0) - (values[i - 1]?.[0] ?? 0)).toBeCloseTo(1, 6);
    expect(lines.some((l) => l.metric.__name__ === 'up' && l.values.every(([, v]) => v === '1'))).toBe(true);

    // Chunked: 1-point requests give the same series and samples.
    const out2 = join(out, 'chunked');
    const to = values.at(-1)?.[0] ?? 0;
    const from = values[0]?.[0] ?? 0;
    const chunked = await exportRange({
      prometheus: p.url,
      from: Math.round(from * 1000),
      to: Math.round(to * 1000),
      selectors: [counter, 'http_server_requests_total'],
      maxPointsPerRequest: 2,
      out: out2,
    });
    expect(chunked.requests).toBe(2 * Math.ceil(values.length / 2));
    const chunkedLine = JSON.parse((await readFile(chunked.file, 'utf8')).split('\n')[0] ?? '') as Line;
    expect(chunkedLine.values).toEqual(values);

    const { pid, dir } = p;
    await p.stop();
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await expect(access(dir)).rejects.toThrow(/ENOENT/);
  });
});
