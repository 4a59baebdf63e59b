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

  it('without the traces option, fetch is the plain global fetch and nothing is traced', () => {
    const obs = observe({ service: 'api' });
    cleanups.push(() => obs.close());
    expect(obs.tracing).toBeUndefined();
    expect(obs.fetch).toBe(globalThis.fetch);
  });
});
