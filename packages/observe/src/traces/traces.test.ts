import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tracedFetch, traceHttpServer } from './http.js';
import { operationOf, tracePool } from './pool.js';
import { createTracing, type Tracing } from './tracing.js';

interface KV {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KV[];
  status: { code: number; message?: string };
}
interface FoundSpan extends OtlpSpan {
  service: string | undefined;
  attr: Record<string, unknown>;
}

function attrs(list: KV[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list) {
    const v = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
    out[key] = v;
  }
  return out;
}

function readSpans(file: string): FoundSpan[] {
  const out: FoundSpan[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const doc = JSON.parse(line) as {
      resourceSpans: { resource: { attributes: KV[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
    };
    for (const rs of doc.resourceSpans) {
      const service = attrs(rs.resource.attributes)['service.name'] as string | undefined;
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) out.push({ ...s, service, attr: attrs(s.attributes) });
    }
  }
  return out;
}

async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

let dir: string;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'observe-traces-'));
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

function serve(
  tracing: Tracing,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<number> {
  const server = createServer(handler);
  traceHttpServer(server, tracing);
  cleanups.push(() => close(server));
  return listen(server);
}

describe('createTracing + traceHttpServer with the file exporter', () => {
  it('writes one SERVER span per request as OTLP/JSON lines', async () => {
    const file = join(dir, 'spans', 'otlp.json');
    const tracing = createTracing({ service: 'api', instance: 'app-1', exporter: { file } });
    cleanups.push(() => tracing.shutdown());
    const port = await serve(tracing, (req, res) => {
      res.statusCode = req.url?.startsWith('/boom') ? 503 : 200;
      res.end('ok');
    });
    const res = await fetch(`http://127.0.0.1:${port}/users/42?secret=1`);
    expect(await res.text()).toBe('ok');
    await tracing.shutdown();
    const spans = readSpans(file);
    expect(spans).toHaveLength(1);
    const [span] = spans as [FoundSpan];
    expect(span.service).toBe('api');
    expect(span.name).toBe('GET /users');
    expect(span.kind).toBe(2); // SPAN_KIND_SERVER
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.parentSpanId).toBeUndefined();
    expect(span.startTimeUnixNano).toMatch(/^\d{19}$/);
    expect(BigInt(span.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(span.startTimeUnixNano));
    expect(span.attr).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/users',
      'url.path': '/users/42',
      'http.response.status_code': '200',
    });
    expect(span.status.code).toBe(0);
    expect(tracing.stats()).toEqual({ exportedSpans: 1, droppedSpans: 0, failures: 0 });
  });

  it('marks 5xx answers as errors', async () => {
    const file = join(dir, 'otlp.json');
    const tracing = createTracing({ service: 'api', exporter: { file } });
    cleanups.push(() => tracing.shutdown());
    const port = await serve(tracing, (_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    await (await fetch(`http://127.0.0.1:${port}/boom`)).text();
    await tracing.shutdown();
    const [span] = readSpans(file) as [FoundSpan];
    expect(span.status.code).toBe(2);
    expect(span.attr['http.response.status_code']).toBe('503');
    expect(span.attr['error.type']).toBe('503');
  });

  it('continues the trace of an incoming traceparent and exposes the ids to the logger hook', async () => {
    const file = join(dir, 'otlp.json');
    const tracing = createTracing({ service: 'api', exporter: { file } });
    cleanups.push(() => tracing.shutdown());
    const seen: (string | undefined)[] = [];
    const port = await serve(tracing, (_req, res) => {
      setTimeout(() => {
        seen.push(tracing.getActiveSpanContext()?.spanId);
        res.end();
      }, 5);
    });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await (
      await fetch(`http://127.0.0.1:${port}/`, {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      })
    ).text();
    await tracing.shutdown();
    const [span] = readSpans(file) as [FoundSpan];
    expect(span.traceId).toBe(traceId);
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
    expect(seen).toEqual([span.spanId]);
  });
});

describe('tracedFetch across two processes', () => {
  it('carries the trace from a server in this process to a server in another one', async () => {
    const childFile = join(dir, 'child.json');
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./child-server.fixtures.ts', import.meta.url)), childFile],
      // no tsx compile cache left in the temp folder
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TSX_DISABLE_CACHE: '1' } },
    );
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const childPort = Number(chunk.toString().trim());
    expect(childPort).toBeGreaterThan(0);

    const file = join(dir, 'parent.json');
    const tracing = createTracing({ service: 'api', exporter: { file } });
    cleanups.push(() => tracing.shutdown());
    const tfetch = tracedFetch(tracing, globalThis.fetch, {
      peerService: (url) => `inventory@${url.hostname}`,
    });
    const port = await serve(tracing, (_req, res) => {
      tfetch(`http://127.0.0.1:${childPort}/items?id=7`).then(
        async (r) => res.end(await r.text()),
        () => res.end('{}'),
      );
    });
    const fromChild = (await (await fetch(`http://127.0.0.1:${port}/orders`)).json()) as {
      traceId: string;
      spanId: string;
    };
    await tracing.shutdown();
    child.kill('SIGTERM');
    await once(child, 'exit');

    const parentSpans = readSpans(file);
    const server = parentSpans.find((s) => s.kind === 2);
    const client = parentSpans.find((s) => s.kind === 3);
    const [remote] = readSpans(childFile) as [FoundSpan];
    expect(server && client && remote).toBeTruthy();
    if (!server || !client) return;
    expect(remote.service).toBe('inventory');
    expect(remote.kind).toBe(2);
    expect(client.traceId).toBe(server.traceId);
    expect(client.parentSpanId).toBe(server.spanId);
    expect(remote.traceId).toBe(server.traceId);
    expect(remote.parentSpanId).toBe(client.spanId);
    expect(fromChild).toEqual({ traceId: remote.traceId, spanId: remote.spanId });
    expect(client.name).toBe('GET');
    expect(client.attr).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': String(childPort),
      'url.full': `http://127.0.0.1:${childPort}/items`,
      'http.response.status_code': '200',
      'peer.service': 'inventory@127.0.0.1',
    });
  });
});

describe('export failures are counted and dropped', () => {
  it('an unreachable collector never throws into the app', async () => {
    const tracing = createTracing({
      service: 'api',
      exporter: { otlpUrl: 'http://127.0.0.1:1', timeoutMs: 500 },
    });
    cleanups.push(() => tracing.shutdown());
    const port = await serve(tracing, (_req, res) => res.end('still here'));
    for (let i = 0; i < 3; i++)
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('still here');
    await tracing.forceFlush();
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('still here');
    await tracing.shutdown();
    expect(tracing.stats()).toMatchObject({ exportedSpans: 0, droppedSpans: 4 });
    expect(tracing.stats().failures).toBeGreaterThanOrEqual(1);
  });

  it('a collector that never answers is timed out', async () => {
    const sockets: Socket[] = [];
    const hole = createNetServer((s) => sockets.push(s));
    const port = await listen(hole);
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      hole.close();
    });
    const tracing = createTracing({
      service: 'api',
      exporter: { otlpUrl: `http://127.0.0.1:${port}`, timeoutMs: 200 },
    });
    tracing.tracer.startSpan('work').end();
    const started = Date.now();
    await tracing.shutdown();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(tracing.stats()).toEqual({ exportedSpans: 0, droppedSpans: 1, failures: 1 });
  });

  it('posts OTLP/JSON to a collector', async () => {
    const bodies: { url: string | undefined; body: string; type: string | undefined }[] = [];
    const sink = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        bodies.push({ url: req.url, body, type: req.headers['content-type'] });
        res.end('{}');
      });
    });
    const port = await listen(sink);
    cleanups.push(() => close(sink));
    const tracing = createTracing({ service: 'api', exporter: { otlpUrl: `http://127.0.0.1:${port}` } });
    tracing.tracer.startSpan('job.run', { attributes: { 'job.name': 'reindex', n: 3, ratio: 0.5 } }).end();
    await tracing.shutdown();
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.url).toBe('/v1/traces');
    expect(bodies[0]?.type).toBe('application/json');
    const doc = JSON.parse(bodies[0]?.body ?? '') as {
      resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
    };
    const span = doc.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    expect(span?.name).toBe('job.run');
    expect(attrs(span?.attributes ?? [])).toEqual({ 'job.name': 'reindex', n: '3', ratio: 0.5 });
    expect(tracing.stats()).toEqual({ exportedSpans: 1, droppedSpans: 0, failures: 0 });
  });

  it('a file that cannot be written is counted', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const tracing = createTracing({ service: 'api', exporter: { file: join(blocker, 'otlp.json') } });
    tracing.tracer.startSpan('a').end();
    tracing.tracer.startSpan('b').end();
    await tracing.shutdown();
    expect(tracing.stats()).toEqual({ exportedSpans: 0, droppedSpans: 2, failures: 1 });
  });
});

describe('tracePool', () => {
  function fakePool() {
    const queries: unknown[][] = [];
    const client = {
      query(...args: unknown[]) {
        queries.push(args);
        const cb = args[args.length - 1];
        if (typeof cb === 'function') {
          setImmediate(() => (cb as (e: unknown, r: unknown) => void)(null, { rows: [] }));
          return undefined;
        }
        return String(args[0]).startsWith('BAD')
          ? Promise.reject(new Error('syntax'))
          : Promise.resolve({ rows: [] });
      },
      release() {},
    };
    const pool = {
      totalCount: 1,
      idleCount: 0,
      waitingCount: 2,
      options: { max: 1 },
      connect(cb?: (err: unknown, c: unknown, done: () => void) => void): unknown {
        if (cb) {
          setTimeout(() => cb(null, client, () => {}), 5);
          return undefined;
        }
        return Promise.resolve(client);
      },
    };
    return { pool, client, queries };
  }

  it('makes acquire spans apart from query spans, with the first word of the statement only', async () => {
    const file = join(dir, 'otlp.json');
    const tracing = createTracing({ service: 'api', exporter: { file } });
    cleanups.push(() => tracing.shutdown());
    const { pool, queries } = fakePool();
    const originalConnect = pool.connect;
    const untrace = tracePool(pool, tracing, { name: 'main' });
    const parent = tracing.tracer.startSpan('request');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      const c = (await pool.connect()) as { query: (...a: unknown[]) => Promise<unknown> };
      await c.query('select * from users where id = $1', [42]);
      await expect(c.query('BAD stuff')).rejects.toThrow('syntax');
      await new Promise<void>((resolve) =>
        pool.connect((_e, client) => {
          expect(tracing.getActiveSpanContext()?.spanId).toBe(parent.spanContext().spanId);
          (client as { query: (t: unknown, cb: () => void) => void }).query(
            { text: ' update t set x=1' },
            () => resolve(),
          );
        }),
      );
    });
    parent.end();
    untrace();
    await tracing.shutdown();
    expect(queries).toHaveLength(3);
    const spans = readSpans(file);
    const pid = parent.spanContext().spanId;
    const acquires = spans.filter((s) => s.name === 'pg.pool.acquire');
    const qs = spans.filter((s) => s.name === 'pg.query');
    expect(acquires).toHaveLength(2);
    expect(acquires.every((s) => s.parentSpanId === pid)).toBe(true);
    expect(acquires[0]?.attr).toMatchObject({
      'db.client.connection.pool.name': 'main',
      'db.client.connection.pool.waiting': '2',
    });
    expect(qs.map((s) => s.attr['db.operation.name'])).toEqual(['SELECT', 'BAD', 'UPDATE']);
    expect(qs.every((s) => s.parentSpanId === pid)).toBe(true);
    expect(qs.map((s) => s.status.code)).toEqual([0, 2, 0]);
    expect(JSON.stringify(spans)).not.toContain('users');
    expect(pool.connect).toBe(originalConnect);
  });

  it('operationOf reads only the first word', () => {
    expect(operationOf('  insert into t values ($1)')).toBe('INSERT');
    expect(operationOf({ text: 'WITH x AS (select 1) select * from x' })).toBe('WITH');
    expect(operationOf(42)).toBe('UNKNOWN');
  });
});
