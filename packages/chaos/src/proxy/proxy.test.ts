import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isFaultlineChaosError } from './errors.js';
import {
  Cleanup,
  collect,
  dial,
  portOf,
  roundTrip,
  startEcho,
  startHttp,
  startTcp,
  until,
} from './loopback.fixtures.js';
import { type ProxyServer, startProxyServer } from './server.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function server(options: Parameters<typeof startProxyServer>[0] = {}): Promise<ProxyServer> {
  return cleanup.add(await startProxyServer({ port: 0, ...options }), (s) => s.close());
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('fault proxy engine', () => {
  it('relays an echo and reports the bound port for listen port 0', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'echo', upstream: echo.address });
    expect(p.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(portOf(p.listen)).toBeGreaterThan(0);
    const reply = await roundTrip(portOf(p.listen), Buffer.from('ping'));
    expect(reply.data.toString()).toBe('ping');
  });

  it('relays HTTP requests to a real HTTP server', async () => {
    const web = cleanup.add(await startHttp(), (h) => h.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'web', upstream: web.address });
    const res = await httpGet(portOf(p.listen), '/a/b');
    expect(res).toEqual({ status: 200, body: 'hello /a/b' });
  });

  it('half-close: a 32 MB echo arrives byte for byte after the client shuts its sending side', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'echo', upstream: echo.address });
    const data = randomBytes(32 << 20);
    const reply = await roundTrip(portOf(p.listen), data);
    expect(reply.error).toBeUndefined();
    expect(reply.data.length).toBe(data.length);
    expect(reply.data.equals(data)).toBe(true);
    const stats = s.proxies.stats()[0];
    expect(stats?.upstreamBytes).toEqual({ received: data.length, sent: data.length });
    expect(stats?.downstreamBytes).toEqual({ received: data.length, sent: data.length });
  });

  it('half-close: a 200 MB echo arrives complete', { timeout: 60_000 }, async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'echo', upstream: echo.address });
    const client = cleanup.socket(await dial(portOf(p.listen)));
    const block = randomBytes(1 << 20);
    let received = 0;
    let mismatch = false;
    let offset = 0;
    client.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i += 4096) {
        if (d[i] !== block[(offset + i) % block.length]) mismatch = true;
      }
      offset += d.length;
      received += d.length;
    });
    const closed = collect(client);
    for (let i = 0; i < 200; i++) {
      if (!client.write(block)) await new Promise((r) => client.once('drain', r));
    }
    client.end();
    const result = await closed;
    expect(result.error).toBeUndefined();
    expect(received).toBe(200 << 20);
    expect(mismatch).toBe(false);
  });

  it('disabling a proxy closes its listener and every connection; enabling binds again', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'echo', upstream: echo.address });
    const port = portOf(p.listen);
    const client = cleanup.socket(await dial(port));
    const closed = collect(client);
    client.write('x');
    await until(() => echo.sockets.size === 1);
    const off = await s.proxies.update('echo', { enabled: false });
    expect(off.enabled).toBe(false);
    await closed;
    await until(() => echo.sockets.size === 0);
    await expect(dial(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const on = await s.proxies.update('echo', { enabled: true });
    expect(on.enabled).toBe(true);
    const reply = await roundTrip(portOf(on.listen), Buffer.from('again'));
    expect(reply.data.toString()).toBe('again');
  });

  it('a new upstream restarts the listener and closes live connections', async () => {
    const a = cleanup.add(await startTcp((x) => x.end('A')), (e) => e.close());
    const b = cleanup.add(await startTcp((x) => x.end('B')), (e) => e.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'ab', upstream: a.address });
    expect((await roundTrip(portOf(p.listen), Buffer.alloc(0))).data.toString()).toBe('A');
    const q = await s.proxies.update('ab', { upstream: b.address });
    expect(q.upstream).toBe(b.address);
    expect((await roundTrip(portOf(q.listen), Buffer.alloc(0))).data.toString()).toBe('B');
  });

  it('an upstream that refuses closes the client connection', async () => {
    const gone = await startTcp(() => {});
    const address = gone.address;
    await gone.close();
    const s = await server();
    const p = await s.proxies.create({ name: 'dead', upstream: address });
    const reply = await roundTrip(portOf(p.listen), Buffer.from('hello'));
    expect(reply.data.length).toBe(0);
    await until(() => s.proxies.stats()[0]?.connectionsOpen === 0);
  });

  it('an upstream that resets mid-stream resets the client', async () => {
    const rst = cleanup.add(
      await startTcp((x) => {
        x.once('data', () => x.resetAndDestroy());
      }),
      (e) => e.close(),
    );
    const s = await server();
    const p = await s.proxies.create({ name: 'rst', upstream: rst.address });
    const client = cleanup.socket(await dial(portOf(p.listen)));
    const got = collect(client);
    client.write('boom');
    const reply = await got;
    expect(reply.error?.code).toBe('ECONNRESET');
    await until(() => s.proxies.stats()[0]?.connectionsOpen === 0);
  });

  it('an upstream closing mid-stream closes the client after the data', async () => {
    const half = cleanup.add(
      await startTcp((x) => {
        x.once('data', () => {
          x.end('partial');
          x.destroySoon();
        });
      }),
      (e) => e.close(),
    );
    const s = await server();
    const p = await s.proxies.create({ name: 'half', upstream: half.address });
    const client = cleanup.socket(await dial(portOf(p.listen)));
    const got = collect(client);
    client.write('go');
    const reply = await got;
    expect(reply.data.toString()).toBe('partial');
    await until(() => s.proxies.stats()[0]?.connectionsOpen === 0);
  });

  it('serves 200 concurrent connections', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'many', upstream: echo.address });
    const port = portOf(p.listen);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => roundTrip(port, Buffer.from(`message ${i} `.repeat(100)))),
    );
    replies.forEach((r, i) => {
      expect(r.data.toString()).toBe(`message ${i} `.repeat(100));
    });
    await until(() => s.proxies.stats()[0]?.connectionsOpen === 0);
    expect(s.proxies.stats()[0]?.connectionsTotal).toBe(200);
  });

  it('leaks no sockets over 2,000 connections, with and without toxics', { timeout: 60_000 }, async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = await server();
    const p = await s.proxies.create({ name: 'fd', upstream: echo.address });
    const port = portOf(p.listen);
    const fds = () => readdirSync('/proc/self/fd').length;
    await roundTrip(port, Buffer.from('warm-up'));
    await until(() => echo.sockets.size === 0);
    const before = fds();
    for (let round = 0; round < 20; round++) {
      if (round === 10) s.proxies.addToxic('fd', { type: 'latency', attributes: { latency: 0 } });
      await Promise.all(Array.from({ length: 100 }, () => roundTrip(port, Buffer.from('abc'))));
    }
    await until(() => echo.sockets.size === 0 && s.proxies.stats()[0]?.connectionsOpen === 0);
    expect(s.proxies.stats()[0]?.connectionsTotal).toBe(2001);
    await until(() => fds() <= before + 2);
  });

  it('close() closes every listener and connection', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = await startProxyServer({ port: 0 });
    const p = await s.proxies.create({ name: 'a', upstream: echo.address });
    const client = cleanup.socket(await dial(portOf(p.listen)));
    const closed = collect(client);
    client.write('x');
    await until(() => echo.sockets.size === 1);
    await s.close();
    await closed;
    await until(() => echo.sockets.size === 0);
    await expect(dial(portOf(p.listen))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(dial(s.address.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(s.proxies.create({ name: 'b', upstream: echo.address })).rejects.toMatchObject({
      code: 'FL_SERVER_CLOSED',
    });
  });

  it('throws stable error codes', async () => {
    const s = await server();
    await s.proxies.create({ name: 'a', upstream: '127.0.0.1:1' });
    const taken = s.proxies.get('a').listen;
    await expect(s.proxies.create({ name: 'a', upstream: '127.0.0.1:1' })).rejects.toMatchObject({
      code: 'FL_PROXY_EXISTS',
    });
    await expect(s.proxies.create({ name: 'b', listen: taken, upstream: 'x:1' })).rejects.toMatchObject({
      code: 'FL_PROXY_LISTEN',
      apiMessage: `listen tcp ${taken}: bind: address already in use`,
    });
    expect(() => s.proxies.get('b')).toThrow(expect.objectContaining({ code: 'FL_PROXY_NOT_FOUND' }));
    expect(() => s.proxies.addToxic('a', { type: 'nope' })).toThrow(
      expect.objectContaining({ code: 'FL_TOXIC_INVALID' }),
    );
    s.proxies.addToxic('a', { type: 'latency' });
    expect(() => s.proxies.addToxic('a', { type: 'latency' })).toThrow(
      expect.objectContaining({ code: 'FL_TOXIC_EXISTS' }),
    );
    expect(() => s.proxies.removeToxic('a', 'x')).toThrow(
      expect.objectContaining({ code: 'FL_TOXIC_NOT_FOUND' }),
    );
    try {
      s.proxies.get('zz');
    } catch (e) {
      expect(isFaultlineChaosError(e)).toBe(true);
      expect((e as Record<symbol, unknown>)[Symbol.for('faultline.error')]).toBe(true);
    }
  });

  it('publishes changes on diagnostics channels and writes them to the events file', async () => {
    const dir = cleanup.add(mkdtempSync(join(tmpdir(), 'fl-chaos-')), (d) => rmSync(d, { recursive: true }));
    const file = join(dir, 'events.jsonl');
    const seen: { kind: string }[] = [];
    const onMessage = (m: unknown) => seen.push(m as { kind: string });
    for (const ch of ['faultline:chaos:proxy', 'faultline:chaos:toxic', 'faultline:chaos:connection']) {
      subscribe(ch, onMessage);
      cleanup.add(ch, (c) => unsubscribe(c, onMessage));
    }
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const lines: string[] = [];
    const s = await server({ eventsFile: file, logger: (l) => lines.push(l) });
    const p = await s.proxies.create({ name: 'ev', upstream: echo.address });
    s.proxies.addToxic('ev', { type: 'latency', attributes: { latency: 1 } });
    s.proxies.addToxic('ev', { type: 'noop', toxicity: 0 });
    await roundTrip(portOf(p.listen), Buffer.from('x'));
    s.proxies.updateToxic('ev', 'latency_downstream', { attributes: { jitter: 1 } });
    s.proxies.removeToxic('ev', 'latency_downstream');
    await s.proxies.update('ev', { enabled: false });
    await s.proxies.reset();
    await s.proxies.remove('ev');
    const kinds = [
      'chaos.proxy.created',
      'chaos.toxic.added',
      'chaos.toxic.added',
      'chaos.toxic.updated',
      'chaos.toxic.removed',
      'chaos.proxy.updated',
      'chaos.toxic.removed',
      'chaos.reset',
      'chaos.proxy.deleted',
    ];
    const events = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; kind: string; proxy?: string; toxic?: { name: string } });
    expect(events.map((e) => e.kind)).toEqual(kinds);
    expect(events[1]).toMatchObject({ proxy: 'ev', toxic: { name: 'latency_downstream', type: 'latency' } });
    expect(Number.isNaN(Date.parse(events[0]?.time ?? ''))).toBe(false);
    expect(seen.map((e) => e.kind)).toEqual([...kinds.slice(0, 3), 'chaos.connection', ...kinds.slice(3)]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      kind: 'chaos.connection',
      proxy: 'ev',
      toxics: [{ name: 'latency_downstream', type: 'latency', stream: 'downstream' }],
      skipped: ['noop_downstream'],
    });
  });
});
