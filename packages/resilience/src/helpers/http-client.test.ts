import { AsyncResource } from 'node:async_hooks';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isFaultlineError } from '../core/errors.js';
import { DEADLINE_HEADER } from '../deadline/deadline.js';
import { createHttpClient, type FetchLike, isNetworkError } from './http-client.js';

interface Seen {
  path: string;
  method: string;
  at: number;
  deadline: string | undefined;
  aborted: boolean;
}

/** One real HTTP server on 127.0.0.1, its behaviour chosen by path; it records what it saw. */
let server: Server;
let base: string;
let seen: Seen[] = [];
const outside = new AsyncResource('outside-any-request');

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').replace(/\?.*$/, '');
  const entry: Seen = {
    path,
    method: req.method ?? 'GET',
    at: performance.now(),
    deadline: req.headers[DEADLINE_HEADER] as string | undefined,
    aborted: false,
  };
  res.on('close', () => {
    entry.aborted = !res.writableFinished;
  });
  seen.push(entry);
  const nth = seen.filter((s) => s.path === path).length;
  switch (path) {
    case '/ok':
      res.end('hello');
      return;
    case '/slow-headers-once':
      // the first attempt gets its headers after 2 s, later ones at once
      if (nth === 1) setTimeout(() => res.end('late'), 2000).unref();
      else res.end('quick');
      return;
    case '/slow-headers':
      setTimeout(() => res.end('late'), 2000).unref();
      return;
    case '/flaky':
      res.statusCode = nth === 1 ? 503 : 200;
      res.end(nth === 1 ? 'unavailable' : 'ok');
      return;
    case '/retry-after':
      if (nth === 1) {
        res.writeHead(503, { 'retry-after': '1' });
        res.end();
      } else {
        res.end('ok');
      }
      return;
    case '/down':
      res.statusCode = 503;
      res.end('down');
      return;
    case '/hang':
      return;
    case '/stalled-body':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk;');
      setTimeout(() => res.end('second chunk'), 2000).unref();
      return;
    case '/not-found':
      res.statusCode = 404;
      res.end('nope');
      return;
    default:
      res.statusCode = 500;
      res.end();
  }
}

beforeAll(async () => {
  server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
});

beforeEach(() => {
  seen = [];
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a failure, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

/** Lets the server notice closed connections. */
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('createHttpClient (real sockets)', () => {
  it('returns the response and sends the remaining deadline only when there is one', async () => {
    const plain = createHttpClient();
    const res = await plain.request(`${base}/ok`);
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${base}/ok`);
    expect(await res.text()).toBe('hello');
    expect(seen[0]?.deadline).toBeUndefined();

    const bounded = createHttpClient({ totalTimeoutMs: 5000, readTimeoutMs: 1000 });
    expect(await (await bounded.request(`${base}/ok`)).text()).toBe('hello');
    const sent = Number(seen[1]?.deadline);
    expect(sent).toBeGreaterThan(4000);
    expect(sent).toBeLessThanOrEqual(5000);
  });

  it('returns other failing statuses as they are', async () => {
    const res = await createHttpClient().request(`${base}/not-found`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('nope');
    expect(seen).toHaveLength(1);
  });

  it('times out slow response headers, aborts that request and retries', async () => {
    const http = createHttpClient({ readTimeoutMs: 150, retries: { maxRetries: 2, backoff: 0 } });
    const started = performance.now();
    const res = await http.request(`${base}/slow-headers-once`);
    expect(await res.text()).toBe('quick');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(seen).toHaveLength(2);
    await settle();
    expect(seen[0]?.aborted).toBe(true);
  });

  it('reports a header timeout as FL_TIMEOUT when retries run out', async () => {
    const http = createHttpClient({ readTimeoutMs: 100, retries: false });
    const err = await failure(http.request(`${base}/slow-headers`));
    expect(err).toMatchObject({
      code: 'FL_TIMEOUT',
      policy: 'http-client',
      details: { phase: 'headers', timeoutMs: 100, method: 'GET', url: `${base}/slow-headers` },
    });
  });

  it('retries 503 and returns the later 200', async () => {
    const http = createHttpClient({ retries: { maxRetries: 2, backoff: 10 } });
    const res = await http.request(`${base}/flaky`);
    expect(res.status).toBe(200);
    expect(seen.map((s) => s.path)).toEqual(['/flaky', '/flaky']);
  });

  it('waits as long as Retry-After says', async () => {
    const http = createHttpClient({ retries: { maxRetries: 1, backoff: 10 } });
    const res = await http.request(`${base}/retry-after`);
    expect(res.status).toBe(200);
    const [a, b] = seen;
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('throws FL_HTTP_STATUS with the status and attempts after the last retry', async () => {
    const http = createHttpClient({ retries: { maxRetries: 2, backoff: 5 } });
    const err = await failure(http.request(`${base}/down?token=secret`));
    expect(isFaultlineError(err)).toBe(true);
    expect(err).toMatchObject({
      code: 'FL_HTTP_STATUS',
      retryable: true,
      details: { status: 503, attempts: 3, method: 'GET', url: `${base}/down` },
    });
    expect(String((err as Error).message)).not.toContain('secret');
    expect(seen).toHaveLength(3);
  });

  it('never retries a POST, unless it carries an Idempotency-Key', async () => {
    const http = createHttpClient({ retries: { maxRetries: 2, backoff: 5 } });
    const err = await failure(http.request(`${base}/down`, { method: 'POST', body: '{}' }));
    expect(err).toMatchObject({
      code: 'FL_HTTP_STATUS',
      details: { status: 503, attempts: 1, method: 'POST' },
    });
    expect(seen).toHaveLength(1);

    seen = [];
    const keyed = await failure(
      http.request(`${base}/down`, { method: 'POST', body: '{}', headers: { 'Idempotency-Key': 'k-1' } }),
    );
    expect(keyed).toMatchObject({ details: { attempts: 3 } });
    expect(seen).toHaveLength(3);

    seen = [];
    const told = createHttpClient({ retries: { maxRetries: 1, backoff: 5 }, retryNonIdempotent: true });
    await failure(told.request(`${base}/down`, { method: 'PATCH', body: '{}' }));
    expect(seen).toHaveLength(2);
  });

  it('ends the whole request at the overall deadline, retries included, and tells the server', async () => {
    const http = createHttpClient({
      totalTimeoutMs: 400,
      readTimeoutMs: 150,
      retries: { maxRetries: 10, backoff: 0 },
    });
    const started = performance.now();
    const err = await failure(http.request(`${base}/slow-headers`));
    const took = performance.now() - started;
    // never before the deadline (timers may fire a little early), never much past it
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(1500);
    expect(isFaultlineError(err) && ['FL_TIMEOUT', 'FL_DEADLINE_EXCEEDED'].includes(err.code)).toBe(true);
    // 150 ms per attempt within 400 ms: two timed-out attempts and a third cut by the deadline
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.length).toBeLessThanOrEqual(3);
    const budgets = seen.map((s) => Number(s.deadline));
    expect(budgets[0]).toBeLessThanOrEqual(400);
    expect(budgets[1]).toBeLessThan(budgets[0] as number);
    await settle();
    expect(seen.every((s) => s.aborted)).toBe(true);
  });

  it('the overall deadline cuts a hanging attempt even without a read timeout', async () => {
    const http = createHttpClient({ totalTimeoutMs: 200 });
    const started = performance.now();
    const err = await failure(http.request(`${base}/hang`));
    expect(performance.now() - started).toBeLessThan(800);
    expect(err).toMatchObject({ code: 'FL_TIMEOUT' });
    await settle();
    expect(seen[0]?.aborted).toBe(true);
  });

  it('bounds a stalled body by the read timeout (as idle time)', async () => {
    const http = createHttpClient({ readTimeoutMs: 200 });
    const res = await http.request(`${base}/stalled-body`);
    expect(res.status).toBe(200);
    const err = await failure(res.text());
    expect(err).toMatchObject({ code: 'FL_TIMEOUT', details: { phase: 'body', timeoutMs: 200 } });
    await settle();
    expect(seen[0]?.aborted).toBe(true);
  });

  it('a caller abort stops the request at once and is not retried', async () => {
    const http = createHttpClient({ retries: { maxRetries: 3, backoff: 0 } });
    const ac = new AbortController();
    const p = failure(http.request(`${base}/hang`, { signal: ac.signal }));
    setTimeout(() => ac.abort(new Error('user left')), 50);
    const err = await p;
    expect(err).toMatchObject({ code: 'FL_ABORTED', cause: { message: 'user left' } });
    expect(seen).toHaveLength(1);
  });

  it('retries a refused connection, then fails with the network error', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    let calls = 0;
    const counting: FetchLike = (url, init) => {
      calls++;
      return fetch(url, init);
    };
    const http = createHttpClient({
      fetch: counting,
      retries: { maxRetries: 2, backoff: 5 },
      connectTimeoutMs: 1000,
    });
    const err = await failure(http.request(`http://127.0.0.1:${port}/`));
    expect(isNetworkError(err)).toBe(true);
    expect((err as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(calls).toBe(3);
  });

  describe('connect timeout', () => {
    let blackhole: ChildProcess | undefined;
    const held: Socket[] = [];

    afterAll(() => {
      for (const s of held) s.destroy();
      blackhole?.kill('SIGKILL');
    });

    it('gives up on a connection that is never accepted', async () => {
      // A server whose process is frozen right after listen() with a backlog of 1: once its accept
      // queue is full, the kernel drops further SYNs and connects hang, as with a blackholed host.
      blackhole = spawn(
        process.execPath,
        [
          '-e',
          `const s = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
             console.log(s.address().port);
             Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);
           });`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const [chunk] = (await once(blackhole.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
      const port = Number(String(chunk).trim());
      for (let i = 0; i < 8; i++) {
        const s = connect(port, '127.0.0.1');
        held.push(s);
        s.on('error', () => {});
        const connected = await Promise.race([
          once(s, 'connect').then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
        ]);
        if (!connected) break;
      }
      const http = createHttpClient({ connectTimeoutMs: 150, readTimeoutMs: 5000, retries: false });
      const started = performance.now();
      const err = await failure(http.request(`http://127.0.0.1:${port}/`));
      expect(performance.now() - started).toBeLessThan(1000);
      expect(err).toMatchObject({ code: 'FL_TIMEOUT', details: { phase: 'connect', timeoutMs: 150 } });
    });
  });

  it('with a fetch that cannot report its connection, connect + read bound the time to headers', async () => {
    // runs fetch outside the caller's async context, as a fetch that is not undici would look
    const opaque: FetchLike = (url, init) => outside.runInAsyncScope(() => fetch(url, init));
    const http = createHttpClient({
      fetch: opaque,
      connectTimeoutMs: 100,
      readTimeoutMs: 100,
      retries: false,
    });
    const started = performance.now();
    const err = await failure(http.request(`${base}/slow-headers`));
    const took = performance.now() - started;
    expect(err).toMatchObject({ code: 'FL_TIMEOUT', details: { phase: 'headers' } });
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1000);
  });

  it('rejects nonsense options', () => {
    expect(() => createHttpClient({ readTimeoutMs: -1 })).toThrow(/option "readTimeoutMs"/);
    expect(() => createHttpClient({ retryOn: [99] })).toThrow(/option "retryOn"/);
    expect(() => createHttpClient({ deadlineHeader: '' })).toThrow(/option "deadlineHeader"/);
  });
});
