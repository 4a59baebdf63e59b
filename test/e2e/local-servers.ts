// Small real servers on 127.0.0.1 (port 0) for the e2e tests.
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface LocalServer {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  close(): Promise<void>;
}

/** A TCP echo server. */
export async function startEchoServer(): Promise<LocalServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A tiny HTTP service: `GET /health` answers 200 `ok`; `requests` counts what it served. */
export async function startHealthService(): Promise<LocalServer & { readonly requests: () => number }> {
  let requests = 0;
  const server = createHttpServer((req, res) => {
    requests++;
    if (req.url === '/health') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Port of a `host:port` address. */
export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** Connects to 127.0.0.1:port; resolves with the socket, or rejects with the connect error (e.g. ECONNREFUSED). */
export async function dial(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  try {
    await once(s, 'connect');
  } catch (e) {
    s.destroy();
    throw e;
  }
  s.on('error', () => {});
  return s;
}

/** Sends `text` over a new connection and half-closes; resolves with the reply and how long it took. */
export async function echoRoundTrip(port: number, text: string): Promise<{ reply: string; ms: number }> {
  const t0 = performance.now();
  const s = await dial(port);
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  const closed = once(s, 'close');
  s.end(text);
  await closed;
  return { reply: Buffer.concat(parts).toString(), ms: performance.now() - t0 };
}
