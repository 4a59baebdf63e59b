// Test fixtures: real servers on 127.0.0.1, port 0. Used by *.test.ts only.
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/** Things to close after a test, closed in reverse order even when the test failed. */
export class Cleanup {
  private readonly tasks: (() => unknown)[] = [];

  add<T>(value: T, close: (v: T) => unknown): T {
    this.tasks.push(() => close(value));
    return value;
  }

  socket(s: Socket): Socket {
    return this.add(s, (x) => x.destroy());
  }

  async run(): Promise<void> {
    while (this.tasks.length > 0) {
      const task = this.tasks.pop() as () => unknown;
      try {
        await task();
      } catch {
        // keep closing the rest
      }
    }
  }
}

export interface TcpFixture {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

async function listen(server: Server | HttpServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A TCP server on loopback running `onSocket` for each connection (allowHalfOpen). */
export async function startTcp(onSocket: (s: Socket) => void): Promise<TcpFixture> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  const port = await listen(server);
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An echo server that half-closes after the client does (so a whole echo can be awaited). */
export function startEcho(): Promise<TcpFixture> {
  return startTcp((s) => {
    s.pipe(s);
  });
}

export interface HttpFixture {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/** An HTTP server answering `hello <path>`. */
export async function startHttp(): Promise<HttpFixture> {
  const server = createHttpServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello ${req.url}`);
  });
  const port = await listen(server);
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Port of a `host:port` listen address. */
export function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** Connects to 127.0.0.1:port (allowHalfOpen), resolved once connected. */
export async function dial(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** What a socket received until it closed, and the error it closed with, if any. */
export interface Received {
  readonly data: Buffer;
  readonly error: (Error & { code?: string }) | undefined;
  readonly ended: boolean;
}

/** Collects everything `s` receives until it closes. */
export function collect(s: Socket): Promise<Received> {
  const parts: Buffer[] = [];
  let error: (Error & { code?: string }) | undefined;
  let ended = false;
  s.on('data', (d: Buffer) => parts.push(d));
  s.on('error', (e) => {
    error = e;
  });
  s.on('end', () => {
    ended = true;
    if (!s.writableEnded) s.end();
  });
  return new Promise((resolve) => {
    s.once('close', () => resolve({ data: Buffer.concat(parts), error, ended }));
  });
}

/** Resolves with the first `n` bytes `s` receives (or fewer when it closes first). */
export function readBytes(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (d: Buffer) => {
      parts.push(d);
      size += d.length;
      if (size >= n) done();
    };
    const done = () => {
      s.off('data', onData);
      s.off('close', done);
      resolve(Buffer.concat(parts));
    };
    s.on('data', onData);
    s.once('close', done);
  });
}

/** Waits until `check()` is true, polling every 5 ms, failing after `ms`. */
export async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends `data` then half-closes; resolves with the whole reply. */
export async function roundTrip(port: number, data: Buffer): Promise<Received> {
  const s = await dial(port);
  const got = collect(s);
  s.end(data);
  return got;
}
