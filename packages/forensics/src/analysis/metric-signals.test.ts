import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { tempFolder } from '../test-support/memory-sink.js';
import { labelEdges } from './label-edges.js';
import { metricSignals, resampleSeries } from './metric-signals.js';

describe('metricSignals', () => {
  const folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
  afterAll(async () => {
    for (const f of folders) await f.remove();
  });

  it("files a caller's series about a dependency with no metrics of its own under that dependency", async () => {
    const f = await tempFolder();
    folders.push(f);
    const t0 = 1_700_000_000;
    const series = (metric: Record<string, string>) =>
      JSON.stringify({ metric, values: Array.from({ length: 10 }, (_, i) => [t0 + i, String(i % 2)]) });
    await writeFile(
      join(f.dir, 'metrics.jsonl'),
      [
        series({
          __name__: 'http_client_requests_in_flight',
          service: 'app',
          instance: 'app-1',
          dependency: 'pricing',
        }),
        // `orders` has metrics of its own: they speak for it
        series({
          __name__: 'http_client_requests_in_flight',
          service: 'app',
          instance: 'app-1',
          dependency: 'orders',
        }),
        series({ __name__: 'http_server_requests_in_flight', service: 'orders', instance: 'orders-1' }),
      ].join('\n'),
    );
    const { store } = await investigate([f.dir]);
    try {
      const { signals } = await metricSignals(store);
      const pricing = signals.find((s) => s.name.includes('dependency=pricing'));
      expect(pricing).toMatchObject({
        service: 'pricing',
        caller: 'app',
        instance: null,
        kind: 'saturation',
      });
      const orders = signals.find((s) => s.name.includes('dependency=orders'));
      expect(orders).toMatchObject({ service: 'app', instance: 'app-1' });
      expect(orders?.caller).toBeUndefined();
      const edges = await labelEdges(store);
      expect(edges).toEqual(
        expect.arrayContaining([
          { caller: 'app', callee: 'pricing', count: 1 },
          { caller: 'app', callee: 'orders', count: 1 },
        ]),
      );
    } finally {
      await store.close();
    }
  });

  it('reads a latency quantile of 0 as "no requests", not as an instant answer; other zeros stay', async () => {
    const f = await tempFolder();
    folders.push(f);
    const t0 = 1_700_000_000;
    const series = (name: string, v: (i: number) => number) =>
      JSON.stringify({
        metric: { __name__: name, service: 'api' },
        values: Array.from({ length: 10 }, (_, i) => [t0 + i, String(v(i))]),
      });
    await writeFile(
      join(f.dir, 'metrics.jsonl'),
      `${series('latency_p99_seconds', (i) => (i % 3 === 0 ? 0 : 0.2))}\n${series('cpu', (i) => (i % 3 === 0 ? 0 : 5))}\n`,
    );
    const { store } = await investigate([f.dir]);
    try {
      const { signals } = await metricSignals(store);
      const latency = signals.find((s) => s.name === 'latency_p99_seconds');
      const cpu = signals.find((s) => s.name === 'cpu');
      expect(latency?.kind).toBe('latency');
      expect(Number.isNaN(latency?.values[0])).toBe(true);
      expect(latency?.values[1]).toBeCloseTo(0.2);
      expect(cpu?.values[0]).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('reads a count that appears later as zero before, while its instance was scraped; a pool’s idle connections are bad when they fall', async () => {
    const f = await tempFolder();
    folders.push(f);
    const t0 = 1_700_000_000;
    const series = (name: string, from: number, v: (i: number) => number) =>
      JSON.stringify({
        metric: { __name__: name, service: 'app', instance: 'app-1', job: 'nightly' },
        values: Array.from({ length: 30 - from }, (_, i) => [t0 + from + i, String(v(i))]),
      });
    await writeFile(
      join(f.dir, 'metrics.jsonl'),
      [
        series('process_cpu_seconds', 0, () => 1),
        series('background_jobs_in_progress', 20, () => 1),
        series('db_pool_connections_idle', 0, () => 4),
        series('nodejs_heap_used_bytes', 20, () => 9),
      ].join('\n'),
    );
    const { store } = await investigate([f.dir]);
    try {
      const { signals } = await metricSignals(store);
      const job = signals.find((s) => s.name.startsWith('background_jobs_in_progress'));
      expect(Array.from(job?.values ?? []).slice(0, 20)).toEqual(Array(20).fill(0));
      expect(job?.values[25]).toBe(1);
      // a level with no meaning before it was measured stays unknown
      const heap = signals.find((s) => s.name.startsWith('nodejs_heap_used_bytes'));
      expect(Number.isNaN(heap?.values[5])).toBe(true);
      expect(signals.find((s) => s.name.startsWith('db_pool_connections_idle'))).toMatchObject({
        kind: 'saturation',
        bad: 'down',
      });
    } finally {
      await store.close();
    }
  });

  it('reads a counter that restarted from zero as a rate, as Prometheus does, and a level named _count as a level', () => {
    const series = (name: string, values: number[]) => ({
      seriesId: 1,
      name,
      service: 'app',
      instance: 'app-1',
      labels: {},
      timesMs: Float64Array.from(values, (_, i) => 1_000_000 + i * 1000),
      values: Float64Array.from(values),
    });
    // 10 requests a second; the process restarts after the fourth scrape and counts again from 0
    const requests = resampleSeries(
      series('http_requests_total', [100, 110, 120, 130, 5, 15, 25]),
      1_000_000,
      1000,
      7,
    );
    expect([...requests.slice(1)]).toEqual([10, 10, 10, 5, 10, 10]);
    // a level that goes down by a little now and then is not a counter
    const level = resampleSeries(series('queue_count', [10, 12, 11, 13, 12, 14, 13]), 1_000_000, 1000, 7);
    expect([...level]).toEqual([10, 12, 11, 13, 12, 14, 13]);
  });

  it('reads a duration histogram as traffic (its _count) and latency (its mean), so that more requests are not "slower"', async () => {
    const f = await tempFolder();
    folders.push(f);
    const t0 = 1_700_000_000;
    // 40 s at 10 requests/s of 0.1 s, then 40 s at 30 requests/s of 0.1 s: traffic triples, latency does not
    let count = 0;
    let sum = 0;
    const counts: [number, string][] = [];
    const sums: [number, string][] = [];
    for (let i = 0; i < 80; i++) {
      const n = i < 40 ? 10 : 30;
      count += n;
      sum += n * 0.1;
      counts.push([t0 + i, String(count)]);
      sums.push([t0 + i, String(sum)]);
    }
    const line = (name: string, values: [number, string][]) =>
      JSON.stringify({ metric: { __name__: name, service: 'api', route: '/a' }, values });
    await writeFile(
      join(f.dir, 'metrics.jsonl'),
      `${line('http_request_duration_seconds_count', counts)}\n${line('http_request_duration_seconds_sum', sums)}\n`,
    );
    const { store } = await investigate([f.dir]);
    try {
      const { signals } = await metricSignals(store);
      const requests = signals.find((s) => s.name === 'http_request_duration_seconds_count{route=/a}');
      const mean = signals.find((s) => s.name === 'http_request_duration_seconds_mean{route=/a}');
      expect(requests).toMatchObject({ kind: 'traffic', health: false });
      expect(mean).toMatchObject({ kind: 'latency', health: true, bad: 'up' });
      expect(requests?.values[10]).toBeCloseTo(10);
      expect(requests?.values[60]).toBeCloseTo(30);
      expect(mean?.values[10]).toBeCloseTo(0.1);
      expect(mean?.values[60]).toBeCloseTo(0.1);
    } finally {
      await store.close();
    }
  });
});
