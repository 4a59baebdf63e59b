import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectFiles } from './collect-files.js';
import { record } from './record.js';

interface Line {
  metric: Record<string, string>;
  values: [number, string][];
}

let dir: string;
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'observe-recorder-'));
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await rm(dir, { recursive: true, force: true });
});

async function listen(
  handler: Parameters<typeof createServer>[1] & object,
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/metrics`, server };
}

/** A /metrics endpoint whose counter grows by one per scrape. */
async function metricsServer(name: string): Promise<{ url: string; scrapes: () => number }> {
  let count = 0;
  const { url } = await listen((_req, res) => {
    count++;
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      [
        '# HELP requests_total Requests served.',
        '# TYPE requests_total counter',
        `requests_total{route="/orders",code="200"} ${count}`,
        `pool_active{pool="main",instance="inner-${name}"} ${count % 50}`,
        'weird_value NaN',
        '',
      ].join('\n'),
    );
  });
  return { url, scrapes: () => count };
}

async function closedPortUrl(): Promise<string> {
  const { url, server } = await listen(() => undefined);
  servers.splice(servers.indexOf(server), 1);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

async function readLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('record', () => {
  it('scrapes two live targets and one dead one into the bundle format', async () => {
    const a = await metricsServer('a');
    const b = await metricsServer('b');
    const down = await closedPortUrl();
    const recorder = record({
      targets: [{ url: a.url, labels: { job: 'app', instance: 'app-1' } }, { url: b.url }, { url: down }],
      intervalMs: 100,
      flushIntervalMs: 250,
      out: dir,
    });
    await sleep(800);
    const mid = recorder.stats();
    expect(mid.failures).toBeGreaterThan(0);
    const stats = await recorder.stop();

    expect(stats.targets[down]?.failures).toBe(stats.targets[down]?.scrapes);
    expect(stats.targets[down]!.scrapes).toBeGreaterThanOrEqual(5);
    // A live scrape can still miss its timeout on a loaded machine; it must then be counted too.
    // A scrape timed out before the server saw it counts as attempted and failed.
    const liveA = stats.targets[a.url]!;
    const liveB = stats.targets[b.url]!;
    for (const [live, server] of [
      [liveA, a],
      [liveB, b],
    ] as const) {
      expect(live.scrapes - live.failures).toBeGreaterThanOrEqual(3);
      expect(live.scrapes - live.failures).toBeLessThanOrEqual(server.scrapes());
      expect(live.scrapes).toBeGreaterThanOrEqual(server.scrapes());
    }
    expect(stats.scrapes).toBe(liveA.scrapes + liveB.scrapes + stats.targets[down]!.scrapes);
    expect(stats.parseErrors).toBe(0);
    expect(stats.writeFailures).toBe(0);
    // 3 scraped series + up, for each of the two live targets, and up for the dead one.
    expect(stats.series).toBe(9);

    const lines = (await readLines(join(dir, 'metrics.jsonl'))) as unknown as Line[];
    expect(lines.length).toBeGreaterThan(9); // several flushes, one line per series each
    const merged = new Map<string, Line>();
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(['metric', 'values']);
      expect(Object.keys(line.metric)[0]).toBe('__name__');
      const key = JSON.stringify(Object.entries(line.metric).sort());
      const entry = merged.get(key) ?? { metric: line.metric, values: [] };
      entry.values.push(...line.values);
      merged.set(key, entry);
    }
    expect(merged.size).toBe(9);
    const find = (labels: Record<string, string>) =>
      [...merged.values()].find((l) => Object.entries(labels).every(([k, v]) => l.metric[k] === v));

    const requestsA = find({ __name__: 'requests_total', job: 'app', instance: 'app-1' });
    expect(requestsA?.metric).toEqual({
      __name__: 'requests_total',
      route: '/orders',
      code: '200',
      job: 'app',
      instance: 'app-1',
    });
    const counts = requestsA!.values.map(([, v]) => Number(v));
    expect(counts).toHaveLength(liveA.scrapes - liveA.failures);
    expect(counts.every((v, i) => Number.isInteger(v) && v > (counts[i - 1] ?? 0))).toBe(true);
    expect(counts.at(-1)).toBeLessThanOrEqual(a.scrapes());
    const times = requestsA!.values.map(([t]) => t);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(Math.abs(times[0]! - Date.now() / 1000)).toBeLessThan(30);

    const bHost = new URL(b.url).host;
    const poolB = find({ __name__: 'pool_active', instance: bHost });
    expect(poolB?.metric).toMatchObject({ job: 'faultline', exported_instance: 'inner-b', pool: 'main' });
    expect(find({ __name__: 'weird_value', instance: bHost })?.values[0]?.[1]).toBe('NaN');

    const upDown = find({ __name__: 'up', instance: new URL(down).host });
    expect(upDown?.values.every(([, v]) => v === '0')).toBe(true);
    const upB = find({ __name__: 'up', instance: bHost })!.values.map(([, v]) => v);
    expect(upB.filter((v) => v === '1')).toHaveLength(liveB.scrapes - liveB.failures);
    expect(upB).toHaveLength(liveB.scrapes);

    const events = await readLines(join(dir, 'events.jsonl'));
    expect(events).toHaveLength(stats.failures);
    expect(events.filter((e) => e.target === down)[0]).toMatchObject({
      kind: 'scrape_failed',
      target: down,
      job: 'faultline',
    });
    expect(new Date(String(events[0]?.time)).toISOString()).toBe(events[0]?.time);
    expect(typeof events[0]?.error).toBe('string');
  });

  it('times out a hanging target within the interval and keeps scraping', async () => {
    const { url: hanging } = await listen(() => undefined); // never answers
    const live = await metricsServer('live');
    const recorder = record({
      targets: [{ url: hanging }, { url: live.url }],
      intervalMs: 100,
      timeoutMs: 40,
      out: dir,
    });
    await sleep(450);
    const stats = await recorder.stop();
    expect(stats.targets[hanging]!.failures).toBeGreaterThanOrEqual(3);
    expect(stats.targets[live.url]!.scrapes).toBeGreaterThanOrEqual(3);
    const events = await readLines(join(dir, 'events.jsonl'));
    expect(String(events[0]?.error)).toMatch(/timeout|abort/i);
  });

  it('flushes buffered samples on stop, and stop is idempotent', async () => {
    const live = await metricsServer('x');
    const recorder = record({
      targets: [{ url: live.url }],
      intervalMs: 50,
      flushIntervalMs: 60_000,
      out: dir,
    });
    await sleep(200);
    await expect(readFile(join(dir, 'metrics.jsonl'), 'utf8')).rejects.toThrow(/ENOENT/);
    const [first, second] = await Promise.all([recorder.stop(), recorder.stop()]);
    expect(second).toEqual(first);
    const lines = (await readLines(join(dir, 'metrics.jsonl'))) as unknown as Line[];
    expect(lines).toHaveLength(4); // one line per series for the single flush
    expect(first.samples).toBe(lines.reduce((n, l) => n + l.values.length, 0));
    const scrapesAtStop = live.scrapes();
    await sleep(150);
    expect(live.scrapes()).toBe(scrapesAtStop);
  });

  it('stops when its signal aborts', async () => {
    const live = await metricsServer('y');
    const controller = new AbortController();
    const recorder = record({
      targets: [{ url: live.url }],
      intervalMs: 50,
      out: dir,
      signal: controller.signal,
    });
    await sleep(120);
    controller.abort();
    const stats = await recorder.stop();
    const scrapes = live.scrapes();
    await sleep(150);
    expect(live.scrapes()).toBe(scrapes);
    expect(stats.scrapes).toBeGreaterThanOrEqual(scrapes);
    expect((await readLines(join(dir, 'metrics.jsonl'))).length).toBeGreaterThan(0);
  });
});

describe('collectFiles', () => {
  it('copies files into the bundle, renaming clashes and reporting missing ones', async () => {
    const src = join(dir, 'src');
    const out = join(dir, 'bundle');
    await rm(src, { recursive: true, force: true });
    await mkdir(join(src, 'b'), { recursive: true });
    await writeFile(join(src, 'app.log'), '{"msg":"a"}\n');
    await writeFile(join(src, 'b', 'app.log'), '{"msg":"b"}\n');
    await writeFile(join(src, 'spans.json'), '{"resourceSpans":[]}');
    const result = await collectFiles(
      [
        join(src, 'app.log'),
        join(src, 'b', 'app.log'),
        join(src, 'spans.json'),
        join(src, 'missing.log'),
        src,
      ],
      out,
    );
    expect(result.copied).toEqual([join(out, 'app.log'), join(out, 'app-1.log'), join(out, 'spans.json')]);
    expect(await readFile(join(out, 'app-1.log'), 'utf8')).toBe('{"msg":"b"}\n');
    expect(result.skipped.map((s) => s.path)).toEqual([join(src, 'missing.log'), src]);
  });
});
