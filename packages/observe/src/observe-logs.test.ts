import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Observer, observe } from './observe.js';

interface Line {
  level: string;
  time: string;
  service: string;
  instance: string;
  msg: string;
  request_id?: string;
  trace_id?: string;
  span_id?: string;
  method?: string;
  route?: string;
  status?: number;
  duration_ms?: number;
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'observe-logs-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const readLines = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

/** A service instrumented by `obs`, logging one line of its own per request. */
async function serve(obs: Observer, status = 200): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    if (obs.handler(req, res)) return;
    obs.log?.info('handling');
    setTimeout(() => {
      res.statusCode = status;
      res.end('ok');
    }, 1);
  });
  obs.instrumentHttpServer(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('observe() with logs', () => {
  it('writes an access line per request, sharing the request id with the handler’s lines', async () => {
    const file = join(tempDir(), 'logs', 'app.jsonl');
    const obs = observe({ service: 'api', instance: 'app-1', logs: { destination: file } });
    cleanups.push(() => obs.close());
    const { base } = await serve(obs);
    const res = await fetch(`${base}/users/7?secret=1`, { headers: { 'x-request-id': 'req-123' } });
    expect(res.headers.get('x-request-id')).toBe('req-123');
    await res.text();
    const generated = await fetch(`${base}/orders`);
    await generated.text();
    await obs.close();

    const lines = readLines(file);
    expect(lines.map((l) => l.msg)).toEqual([
      'handling',
      'request completed',
      'handling',
      'request completed',
    ]);
    const [handling, access, , access2] = lines;
    expect(handling).toMatchObject({
      level: 'info',
      service: 'api',
      instance: 'app-1',
      request_id: 'req-123',
    });
    expect(access).toMatchObject({
      level: 'info',
      service: 'api',
      instance: 'app-1',
      request_id: 'req-123',
      method: 'GET',
      route: 'GET /users',
      status: 200,
    });
    expect(access?.duration_ms).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(access?.time ?? ''))).toBe(false);
    expect(access2?.request_id).toBe(generated.headers.get('x-request-id'));
    // the access line names the route, never the query string
    expect(readFileSync(file, 'utf8')).not.toContain('secret');
  });

  it('with echoRequestId: false, leaves the response alone and still logs the id', async () => {
    const file = join(tempDir(), 'app.jsonl');
    const obs = observe({ service: 'api', logs: { destination: file, echoRequestId: false } });
    cleanups.push(() => obs.close());
    const { base } = await serve(obs);
    const res = await fetch(`${base}/users/7`, { headers: { 'x-request-id': 'req-9' } });
    await res.text();
    expect(res.headers.get('x-request-id')).toBeNull();
    await obs.close();
    expect(readLines(file).map((l) => [l.msg, l.request_id])).toEqual([
      ['handling', 'req-9'],
      ['request completed', 'req-9'],
    ]);
  });

  it("a held access line reaches the file with the buffer's next timed flush, before close()", async () => {
    const file = join(tempDir(), 'app.jsonl');
    const obs = observe({ service: 'api', logs: { destination: file } });
    cleanups.push(() => obs.close());
    const server = createServer((req, res) => {
      if (obs.handler(req, res)) return;
      res.end('ok');
    });
    obs.instrumentHttpServer(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/quiet`);
    await res.text();
    // one request is far from a batch: only the buffer's flush (every second) can write it
    const deadline = Date.now() + 5000;
    let lines: Line[] = [];
    while (Date.now() < deadline) {
      lines = existsSync(file) ? readLines(file) : [];
      if (lines.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(lines).toMatchObject([{ msg: 'request completed', route: 'GET /quiet', status: 200 }]);
  });

  it('adds trace ids with traces, and logs 5xx answers as errors with the pool state', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.jsonl');
    const obs = observe({
      service: 'api',
      logs: { destination: file },
      traces: { exporter: { file: join(dir, 'spans.jsonl') } },
    });
    cleanups.push(() => obs.close());
    const pool = {
      totalCount: 3,
      idleCount: 1,
      waitingCount: 4,
      options: { max: 3 },
      connect: () => undefined,
    };
    obs.instrumentPool(pool, { name: 'main' });
    const { base } = await serve(obs, 503);
    await (await fetch(`${base}/`)).text();
    await obs.close();
    const [handling, access] = readLines(file);
    expect(handling?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(access).toMatchObject({
      level: 'error',
      status: 503,
      trace_id: handling?.trace_id,
      span_id: handling?.span_id,
      pool_active: 2,
      pool_waiting: 4,
      pool_max: 3,
    });
  });

  it('carries the request id (and trace ids) into lines logged after awaits', async () => {
    for (const traced of [false, true]) {
      const dir = tempDir();
      const file = join(dir, 'app.jsonl');
      const obs = observe({
        service: 'api',
        logs: { destination: file },
        ...(traced ? { traces: { exporter: { file: join(dir, 'spans.jsonl') } } } : {}),
      });
      cleanups.push(() => obs.close());
      // read before serving: from here on, requests run in their async context
      const log = obs.log;
      const server = createServer((req, res) => {
        if (obs.handler(req, res)) return;
        void (async () => {
          await new Promise((r) => setTimeout(r, 2));
          await Promise.resolve();
          log?.info({ url: req.url }, 'after awaits');
          res.end('ok');
        })();
      });
      obs.instrumentHttpServer(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      cleanups.push(() => {
        server.closeAllConnections();
        return new Promise((r) => server.close(r));
      });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const answers = await Promise.all(
        ['a', 'b', 'c'].map((id) => fetch(`${base}/${id}`, { headers: { 'x-request-id': `req-${id}` } })),
      );
      await Promise.all(answers.map((r) => r.text()));
      await obs.close();
      const lines = readLines(file) as (Line & { url?: string })[];
      const mine = lines.filter((l) => l.msg === 'after awaits');
      expect(mine).toHaveLength(3);
      // concurrent requests never see each other's ids
      for (const l of mine) expect(l.request_id).toBe(`req-${l.url?.slice(1)}`);
      for (const l of mine) {
        const access = lines.find((a) => a.msg === 'request completed' && a.request_id === l.request_id);
        if (traced) {
          expect(l.trace_id).toMatch(/^[0-9a-f]{32}$/);
          expect(access?.trace_id).toBe(l.trace_id);
        } else {
          expect(l.trace_id).toBeUndefined();
        }
      }
    }
  });

  it('flushes buffered lines on close(), and later lines neither throw nor land', async () => {
    const file = join(tempDir(), 'app.jsonl');
    // a buffer far larger than what is logged: nothing reaches the file before close()
    const obs = observe({
      service: 'api',
      logs: { destination: file, bufferBytes: 1 << 20, accessLog: false },
    });
    for (let i = 0; i < 500; i++) obs.log?.info({ i }, 'line');
    await new Promise((r) => setTimeout(r, 50));
    await obs.close();
    const lines = readLines(file) as (Line & { i: number })[];
    expect(lines).toHaveLength(500);
    expect(lines.at(-1)?.i).toBe(499);
    expect(() => obs.log?.info('after close')).not.toThrow();
    expect(readLines(file)).toHaveLength(500);
  });
});

describe('failing telemetry never takes the service down', () => {
  it('keeps answering with logs on a full disk and an unreachable collector; close() does not hang', async () => {
    const obs = observe({
      service: 'api',
      logs: { destination: '/dev/full', bufferBytes: 0 },
      traces: {
        exporter: { otlpUrl: 'http://127.0.0.1:1', timeoutMs: 300 },
        batch: { scheduledDelayMillis: 20 },
      },
    });
    const { base } = await serve(obs);
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${base}/items/${i}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(obs.logStats().writeErrors).toBeGreaterThan(0);
    const started = Date.now();
    await obs.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(obs.tracing?.stats().exportedSpans).toBe(0);
    expect(obs.tracing?.stats().droppedSpans).toBe(30);
  });

  it('bounds the buffer of a disk that stays full, dropping and counting', async () => {
    const obs = observe({
      service: 'api',
      logs: { destination: '/dev/full', bufferBytes: 0, accessLog: false },
    });
    cleanups.push(() => obs.close());
    const big = 'x'.repeat(64 * 1024);
    // 32 MiB against the 16 MiB bound
    for (let i = 0; i < 512; i++) obs.log?.info({ big }, 'big');
    await new Promise((r) => setTimeout(r, 50));
    expect(obs.logStats().droppedBytes).toBeGreaterThan(8 * 1024 * 1024);
  });
});
