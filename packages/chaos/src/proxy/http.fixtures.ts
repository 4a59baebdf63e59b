// Test fixtures for HTTP faults: a counting upstream and a raw keep-alive client. Used by *.test.ts only.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type HttpHead, HttpParser } from '../toxics/http-parser.js';
import { dial } from './loopback.fixtures.js';

export interface Hit {
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
}

export interface CountingUpstream {
  readonly address: string;
  readonly hits: Hit[];
  close(): Promise<void>;
}

/** An HTTP/1.1 server recording each request and answering `ok <method> <url> <body length>`. */
export async function startCountingUpstream(): Promise<CountingUpstream> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString();
      hits.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      res.setHeader('content-type', 'text/plain');
      res.end(`ok ${req.method} ${req.url} ${body.length}`);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** ms from `request()` to the end of the response. */
  readonly ms: number;
}

/** A raw keep-alive HTTP/1.1 client on one socket: responses are parsed in order as they come. */
export class RawHttpClient {
  private readonly replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  private started: number[] = [];
  private closedFlag = false;

  private constructor(readonly socket: Socket) {
    let head: HttpHead | undefined;
    let body: Buffer[] = [];
    const parser = new HttpParser(
      'response',
      {
        head: (h) => {
          head = h;
          body = [];
        },
        body: (raw) => body.push(raw),
        done: () => {
          if (head === undefined || head.status < 200) return;
          const t0 = this.started.shift() ?? performance.now();
          this.replies.push({
            status: head.status,
            headers: Object.fromEntries(head.headers),
            body: Buffer.concat(body).toString(),
            ms: performance.now() - t0,
          });
          this.wake();
        },
        error: () => {},
        opaque: () => {},
      },
      { requestMethod: () => 'GET' },
    );
    socket.on('data', (d: Buffer) => parser.push(d));
    const closed = () => {
      this.closedFlag = true;
      this.wake();
    };
    // the proxy's end of the connection (FIN) counts as closed: the socket is half-open capable
    socket.on('end', closed);
    socket.on('close', closed);
  }

  static async connect(port: number): Promise<RawHttpClient> {
    return new RawHttpClient(await dial(port));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends raw bytes (one or several requests); `count` requests are timed from now. */
  send(data: string | Buffer, count = 1): void {
    for (let i = 0; i < count; i++) this.started.push(performance.now());
    this.socket.write(data);
  }

  /** Sends a GET-like request and waits for its response. */
  async request(
    method: string,
    path: string,
    headers: Readonly<Record<string, string>> = {},
    body?: string,
  ): Promise<Reply> {
    const lines = [`${method} ${path} HTTP/1.1`, 'host: test'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
    this.send(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
    return this.next();
  }

  /** The next response, in order. */
  async next(timeoutMs = 3000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closedFlag) throw new Error('connection closed before a response');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no response in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies.shift() as Reply;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
