import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { requestContext } from './request-context.js';

type Line = Record<string, unknown>;

function memoryDestination(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text !== '') lines.push(JSON.parse(text) as Line);
      }
      callback();
    },
  });
  return { stream, lines };
}

let server: Server | undefined;

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
});

async function startServer(handler: Parameters<typeof createServer>[1] & object): Promise<string> {
  const s = createServer(handler);
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

describe('createLogger', () => {
  it('writes service, instance, ISO time, level label and msg', () => {
    const { stream, lines } = memoryDestination();
    const log = createLogger({ service: 'api', instance: 'app-1', destination: stream });
    log.info({ route: '/x' }, 'hello');
    log.debug('not written at info');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      service: 'api',
      instance: 'app-1',
      level: 'info',
      msg: 'hello',
      route: '/x',
    });
    expect(typeof line.time).toBe('string');
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(line).not.toHaveProperty('request_id');
  });

  it('adds pool state to error lines only, and survives a throwing provider', () => {
    const { stream, lines } = memoryDestination();
    let active = 48;
    const log = createLogger({
      service: 'api',
      destination: stream,
      poolState: () => ({ pool_active: active, pool_max: 50 }),
    });
    requestContext.run('req-123', () => {
      log.warn('slow');
      log.error('DB connection timeout');
      active = 50;
      log.fatal('gave up');
    });
    expect(lines[0]).not.toHaveProperty('pool_active');
    expect(lines[1]).toMatchObject({
      level: 'error',
      msg: 'DB connection timeout',
      request_id: 'req-123',
      pool_active: 48,
      pool_max: 50,
    });
    expect(lines[2]).toMatchObject({ level: 'fatal', pool_active: 50 });

    const broken = createLogger({
      service: 'api',
      destination: stream,
      poolState: () => {
        throw new Error('pool gone');
      },
    });
    broken.error('still logged');
    expect(lines[3]).toMatchObject({ level: 'error', msg: 'still logged' });
    expect(lines[3]).not.toHaveProperty('pool_active');
  });

  it('adds trace and span ids from the span-context hook', () => {
    const { stream, lines } = memoryDestination();
    let span: { traceId: string; spanId: string } | undefined = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    };
    const log = createLogger({ service: 'api', destination: stream, getActiveSpanContext: () => span });
    log.info('in span');
    span = undefined;
    log.info('no span');
    expect(lines[0]).toMatchObject({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('keeps message content as data', () => {
    const { stream, lines } = memoryDestination();
    const log = createLogger({ service: 'api', destination: stream });
    const hostile = '"}\n{"level":"fatal","msg":"forged"} {{7*7}} <script>alert(1)</script> $(rm -rf /)';
    log.error(hostile);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toBe(hostile);
  });
});

describe('requestContext.withRequest over real HTTP', () => {
  async function serve(): Promise<{ base: string; lines: Line[] }> {
    const { stream, lines } = memoryDestination();
    const log = createLogger({
      service: 'api',
      instance: 'app-1',
      destination: stream,
      poolState: () => ({ pool_active: 48, pool_max: 50 }),
    });
    const base = await startServer((req, res) => {
      requestContext.withRequest(req, res, () => {
        log.info('request received');
        setTimeout(() => {
          // Still inside the request's async context after a timer hop.
          log.error('DB connection timeout');
          res.end('ok');
        }, 5);
      });
    });
    return { base, lines };
  }

  it('honours an incoming x-request-id and returns it', async () => {
    const { base, lines } = await serve();
    const response = await fetch(`${base}/orders`, { headers: { 'x-request-id': 'req-123' } });
    expect(await response.text()).toBe('ok');
    expect(response.headers.get('x-request-id')).toBe('req-123');
    expect(lines.map((l) => l.request_id)).toEqual(['req-123', 'req-123']);
    expect(lines[0]).not.toHaveProperty('pool_active');
    expect(lines[1]).toMatchObject({
      level: 'error',
      msg: 'DB connection timeout',
      request_id: 'req-123',
      pool_active: 48,
      pool_max: 50,
    });
  });

  it('generates an id when missing or unacceptable, distinct per request', async () => {
    const { base, lines } = await serve();
    const first = await fetch(`${base}/a`);
    const second = await fetch(`${base}/b`, { headers: { 'x-request-id': 'x'.repeat(500) } });
    await first.text();
    await second.text();
    const id1 = first.headers.get('x-request-id');
    const id2 = second.headers.get('x-request-id');
    expect(id1).toMatch(/^[0-9a-f-]{36}$/);
    expect(id2).toMatch(/^[0-9a-f-]{36}$/);
    expect(id1).not.toBe(id2);
    expect(lines.filter((l) => l.request_id === id1)).toHaveLength(2);
    expect(lines.filter((l) => l.request_id === id2)).toHaveLength(2);
  });
});
