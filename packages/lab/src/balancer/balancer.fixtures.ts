/**
 * Test helpers for the balancer: tiny real backends on 127.0.0.1 whose health and answers a test
 * can change while they run, and a plain HTTP client without connection pooling.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type HealthMode = 'ok' | 'fail' | 'hang';

export interface TestBackend {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  /** Behaviour, changeable at any time. */
  health: HealthMode;
  /** Status of non-health requests. */
  status: number;
  /** Delay before answering non-health requests. */
  delayMs: number;
  /** Non-health requests received. */
  hits: number;
  /** Headers of the last non-health request. */
  lastHeaders: http.IncomingHttpHeaders;
  openSockets(): number;
  close(): Promise<void>;
}

/** Starts a backend: `/health` answers per `health`, every other path answers `status` with the backend id as body. */
export async function startTestBackend(id: string): Promise<TestBackend> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      if (backend.health === 'hang') return; // never answers; the balancer must time out
      res.writeHead(backend.health === 'ok' ? 200 : 503);
      res.end(backend.health);
      return;
    }
    backend.hits++;
    backend.lastHeaders = req.headers;
    const answer = (): void => {
      res.writeHead(backend.status, { 'content-type': 'text/plain' });
      res.end(id);
    };
    if (backend.delayMs > 0) {
      const timer = setTimeout(answer, backend.delayMs);
      res.once('close', () => clearTimeout(timer));
    } else answer();
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const backend: TestBackend = {
    id,
    url: `http://127.0.0.1:${port}`,
    port,
    health: 'ok',
    status: 200,
    delayMs: 0,
    hits: 0,
    lastHeaders: {},
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return backend;
}

export interface TestResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** One GET on a fresh connection. */
export function get(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

/** Sends `count` GETs one after another and counts answers by body (the backend id) or status. */
export async function tally(url: string, count: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const res = await get(url);
    const key = res.status === 200 ? res.body : String(res.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Polls `predicate` every 10 ms until it holds; fails after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `port` on 127.0.0.1 can be bound again (nothing left listening on it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = http.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
