import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { observe } from './observe.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('observe() with traces', () => {
  it('one call gives metrics and spans for the same requests, and close() flushes the spans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-observe-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'spans.jsonl');
    const obs = observe({ service: 'api', instance: 'app-1', traces: { exporter: { file } } });
    const server = createServer((req, res) => {
      if (obs.handler(req, res)) return;
      res.end('ok');
    });
    obs.instrumentHttpServer(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // the observer's fetch makes a client span whose trace the server continues
    const res = await obs.fetch(`${base}/orders/42`);
    expect(await res.text()).toBe('ok');
    const metrics = await obs.metrics();
    expect(metrics).toMatch(/service="api"/);
    await obs.close();

    const spans = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .flatMap((line) => {
        const batch = JSON.parse(line) as {
          resourceSpans: {
            scopeSpans: { spans: { traceId: string; kind: number; parentSpanId?: string }[] }[];
          }[];
        };
        return batch.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
      });
    const server_ = spans.filter((s) => s.kind === 2);
    const client = spans.filter((s) => s.kind === 3);
    expect(server_).toHaveLength(1);
    expect(client).toHaveLength(1);
    expect(server_[0]?.traceId).toBe(client[0]?.traceId);
  });

  it('without the traces option nothing is traced and no traceparent is sent', async () => {
    const obs = observe({ service: 'api' });
    cleanups.push(() => obs.close());
    expect(obs.tracing).toBeUndefined();
    let traceparent: string | string[] | undefined = 'unset';
    const server = createServer((req, res) => {
      traceparent = req.headers.traceparent;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    await (await obs.fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).text();
    expect(traceparent).toBeUndefined();
  });
});

describe('observe() helpers', () => {
  it('counts cache, job and outbound calls in the same registry', async () => {
    const obs = observe({ service: 'api' });
    cleanups.push(() => obs.close());
    const store = new Map<string, number>([['a', 1]]);
    const cache = obs.instrumentCache(
      { get: (k: string) => store.get(k), set: (k: string, v: number) => store.set(k, v) },
      { name: 'users' },
    );
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBeUndefined();
    await expect(obs.runJob('reindex', async () => 7)).resolves.toBe(7);
    await expect(
      obs.runJob('reindex', () => {
        throw new Error('job failed');
      }),
    ).rejects.toThrow('job failed');
    await expect(obs.fetch('http://127.0.0.1:1/')).rejects.toThrow();
    const text = await obs.metrics();
    expect(text).toMatch(/cache_operations_total\{[^}]*result="hit"[^}]*\} 1/);
    expect(text).toMatch(/cache_operations_total\{[^}]*result="miss"[^}]*\} 1/);
    expect(text).toMatch(/background_job_runs_total\{[^}]*job="reindex"[^}]*\} 2/);
    expect(text).toMatch(/background_job_failures_total\{[^}]*job="reindex"[^}]*\} 1/);
    expect(text).toMatch(/http_client_requests_total\{[^}]*status_class="error"[^}]*\} 1/);
  });
});
