import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterEach, describe, expect, it } from 'vitest';
import { raw } from '../api/api.fixtures.js';
import { chaosChannels } from './events.js';
import { type CountingUpstream, RawHttpClient, startCountingUpstream } from './http.fixtures.js';
import { Cleanup, portOf, roundTrip, startEcho, until } from './loopback.fixtures.js';
import type { ToxicConfig } from './model.js';
import { type ProxyServer, startProxyServer } from './server.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A small seeded PRNG (mulberry32) for the percentage checks. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Setup {
  readonly server: ProxyServer;
  readonly upstream: CountingUpstream;
  readonly port: number;
  client(): Promise<RawHttpClient>;
  add(toxic: ToxicConfig): void;
}

async function setup(options: { random?: () => number; logger?: (l: string) => void } = {}): Promise<Setup> {
  const upstream = cleanup.add(await startCountingUpstream(), (u) => u.close());
  const server = cleanup.add(await startProxyServer({ port: 0, ...options }), (s) => s.close());
  const proxy = await server.proxies.create({ name: 'web', upstream: upstream.address });
  return {
    server,
    upstream,
    port: portOf(proxy.listen),
    client: async () => cleanup.add(await RawHttpClient.connect(portOf(proxy.listen)), (c) => c.close()),
    add: (toxic) => {
      server.proxies.addToxic('web', toxic);
    },
  };
}

describe('http_abort', () => {
  it('answers matching requests on a keep-alive connection without reaching the upstream', async () => {
    const s = await setup();
    s.add({ name: 'boom', type: 'http_abort', attributes: { status: 503, path_prefix: '/fail' } });
    const c = await s.client();
    const replies = [];
    for (const path of ['/ok', '/fail/x', '/ok2?q=1', '/fail']) replies.push(await c.request('GET', path));
    expect(replies.map((r) => r.status)).toEqual([200, 503, 200, 503]);
    expect(replies[0]?.body).toBe('ok GET /ok 0');
    expect(replies[1]?.headers['x-faultline-fault']).toBe('boom');
    expect(replies[1]?.headers.connection).toBe('keep-alive');
    expect(replies[1]?.body).toContain('503 Service Unavailable');
    expect(s.upstream.hits.map((h) => h.url)).toEqual(['/ok', '/ok2?q=1']);
    expect(c.closed).toBe(false);
  });

  it('is listed as an upstream toxic with its string attributes', async () => {
    const s = await setup();
    s.add({
      type: 'http_abort',
      stream: 'downstream',
      attributes: { header_name: 'X-Chaos', header_value: 'on' },
    });
    expect(s.server.proxies.toxics('web')).toEqual([
      {
        name: 'http_abort_upstream',
        type: 'http_abort',
        stream: 'upstream',
        toxicity: 1,
        attributes: {
          status: 503,
          percentage: 100,
          method: '',
          path_prefix: '',
          headers: { 'x-chaos': 'on' },
        },
      },
    ]);
  });

  it('matches method, path prefix and headers', async () => {
    const s = await setup();
    s.add({
      name: 'm',
      type: 'http_abort',
      attributes: { status: 500, method: 'delete,PUT', path_prefix: '/api', headers: { 'X-Tenant': 'a' } },
    });
    const c = await s.client();
    const t = { 'x-tenant': 'a' };
    const statuses = [
      (await c.request('DELETE', '/api/1', t)).status,
      (await c.request('PUT', '/api/1', t, 'x')).status,
      (await c.request('GET', '/api/1', t)).status,
      (await c.request('DELETE', '/other', t)).status,
      (await c.request('DELETE', '/api/1', { 'x-tenant': 'b' })).status,
      (await c.request('DELETE', '/api/1')).status,
    ];
    expect(statuses).toEqual([500, 500, 200, 200, 200, 200]);
    expect(s.upstream.hits).toHaveLength(4);
  });

  it('with an empty header value only asks for the header', async () => {
    const s = await setup();
    s.add({ type: 'http_abort', attributes: { header_name: 'x-fail' } });
    const c = await s.client();
    expect((await c.request('GET', '/', { 'x-fail': 'anything' })).status).toBe(503);
    expect((await c.request('GET', '/')).status).toBe(200);
  });

  it('honours percentage 0 and 100, and rolls per request', async () => {
    const s = await setup({ random: seeded(42) });
    s.add({ name: 'never', type: 'http_abort', attributes: { status: 502, percentage: 0 } });
    const c = await s.client();
    for (let i = 0; i < 5; i++) expect((await c.request('GET', '/')).status).toBe(200);
    s.server.proxies.updateToxic('web', 'never', { attributes: { percentage: 100 } });
    for (let i = 0; i < 5; i++) expect((await c.request('GET', '/')).status).toBe(502);
    s.server.proxies.updateToxic('web', 'never', { attributes: { percentage: 50 } });
    let aborted = 0;
    for (let i = 0; i < 200; i++) if ((await c.request('GET', `/${i}`)).status === 502) aborted++;
    expect(aborted).toBeGreaterThan(75);
    expect(aborted).toBeLessThan(125);
    expect(s.upstream.hits).toHaveLength(5 + 200 - aborted);
  });

  it('drops a chunked body and keeps the connection usable; forwards non-matching chunked bodies', async () => {
    const s = await setup();
    s.add({ type: 'http_abort', attributes: { method: 'POST', path_prefix: '/upload' } });
    const c = await s.client();
    const chunked = (path: string) =>
      `POST ${path} HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\ntrailer: 1\r\n\r\n`;
    c.send(chunked('/upload'));
    expect((await c.next()).status).toBe(503);
    c.send(chunked('/store'));
    expect((await c.next()).body).toBe('ok POST /store 11');
    expect((await c.request('GET', '/after')).status).toBe(200);
    expect(s.upstream.hits.map((h) => [h.url, h.body])).toEqual([
      ['/store', 'hello world'],
      ['/after', ''],
    ]);
  });

  it('keeps pipelined responses in request order', async () => {
    const s = await setup();
    s.add({ type: 'http_abort', attributes: { status: 429, path_prefix: '/fail' } });
    const c = await s.client();
    const req = (p: string, body = '') =>
      `POST ${p} HTTP/1.1\r\nhost: t\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    c.send(req('/a', 'one') + req('/fail', 'dropped') + req('/b') + req('/fail') + req('/c', 'xy'), 5);
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await c.next());
    expect(replies.map((r) => [r.status, r.body.startsWith('ok') ? r.body : 'fault'])).toEqual([
      [200, 'ok POST /a 3'],
      [429, 'fault'],
      [200, 'ok POST /b 0'],
      [429, 'fault'],
      [200, 'ok POST /c 2'],
    ]);
    expect(s.upstream.hits.map((h) => h.url)).toEqual(['/a', '/b', '/c']);
  });

  it('closes the connection after the answer when the client asked for it', async () => {
    const s = await setup();
    s.add({ type: 'http_abort', attributes: {} });
    const c = await s.client();
    c.send('GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n');
    const r = await c.next();
    expect(r.status).toBe(503);
    expect(r.headers.connection).toBe('close');
    await until(() => c.closed);
    expect(s.upstream.hits).toHaveLength(0);
  });

  it('answers HEAD without a body', async () => {
    const s = await setup();
    s.add({ type: 'http_abort', attributes: { status: 404 } });
    const c = await s.client();
    c.send('HEAD / HTTP/1.1\r\nhost: t\r\n\r\nGET /x HTTP/1.1\r\nhost: t\r\n\r\n', 2);
    // the fixture parses every response as to a GET: the HEAD answer has a content-length but no body,
    // so its "body" is the start of the next answer; check the raw bytes instead
    const chunks: Buffer[] = [];
    c.socket.on('data', (d: Buffer) => chunks.push(d));
    await until(() => Buffer.concat(chunks).toString().split('HTTP/1.1 404').length === 3 || c.closed);
    const text = Buffer.concat(chunks).toString();
    const first = text.slice(0, text.indexOf('HTTP/1.1 404', 1));
    expect(first.endsWith('\r\n\r\n')).toBe(true);
  });

  it('takes effect from the next request of a live connection when added or removed', async () => {
    const s = await setup();
    const c = await s.client();
    expect((await c.request('GET', '/1')).status).toBe(200);
    s.add({ name: 'x', type: 'http_abort', attributes: {} });
    expect((await c.request('GET', '/2')).status).toBe(503);
    s.server.proxies.removeToxic('web', 'x');
    expect((await c.request('GET', '/3')).status).toBe(200);
    expect(s.upstream.hits.map((h) => h.url)).toEqual(['/1', '/3']);
  });

  it('publishes and logs one record per faulted request', async () => {
    const lines: string[] = [];
    const s = await setup({ logger: (l) => lines.push(l) });
    const seen: unknown[] = [];
    const onMessage = (m: unknown) => seen.push(m);
    subscribe(chaosChannels.http.name, onMessage);
    cleanup.add(onMessage, (f) => unsubscribe(chaosChannels.http.name, f));
    s.add({ name: 'a', type: 'http_abort', attributes: { status: 500, path_prefix: '/x' } });
    s.add({ name: 'd', type: 'http_delay', attributes: { delay: 5 } });
    const c = await s.client();
    await c.request('GET', '/x/1?q');
    await c.request('GET', '/y');
    const faults = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.kind === 'chaos.http.fault');
    expect(faults).toMatchObject([
      {
        proxy: 'web',
        method: 'GET',
        path: '/x/1',
        toxics: ['a', 'd'],
        action: 'delay+abort',
        status: 500,
        delayMs: 5,
      },
      { proxy: 'web', method: 'GET', path: '/y', toxics: ['d'], action: 'delay', delayMs: 5 },
    ]);
    expect(seen).toHaveLength(2);
  });
});

describe('http_delay', () => {
  it('holds matching requests `delay` ms, others pass at once', async () => {
    const s = await setup();
    s.add({ type: 'http_delay', attributes: { delay: 80, method: 'POST' } });
    const c = await s.client();
    await c.request('GET', '/warm');
    for (let i = 0; i < 3; i++) {
      const slow = await c.request('POST', '/slow', {}, 'body');
      expect(slow.status).toBe(200);
      expect(slow.ms).toBeGreaterThanOrEqual(80);
      expect(slow.ms).toBeLessThan(80 + 15);
      const fast = await c.request('GET', '/fast');
      expect(fast.ms).toBeLessThan(15);
    }
    expect(s.upstream.hits.filter((h) => h.url === '/slow').map((h) => h.body)).toEqual([
      'body',
      'body',
      'body',
    ]);
  });

  it('keeps pipelined requests in order behind a delayed one', async () => {
    const s = await setup();
    s.add({ type: 'http_delay', attributes: { delay: 50, path_prefix: '/slow' } });
    const c = await s.client();
    c.send('GET /slow HTTP/1.1\r\nhost: t\r\n\r\nGET /fast HTTP/1.1\r\nhost: t\r\n\r\n', 2);
    const a = await c.next();
    const b = await c.next();
    expect([a.body, b.body]).toEqual(['ok GET /slow 0', 'ok GET /fast 0']);
    expect(b.ms).toBeGreaterThanOrEqual(50);
  });
});

describe('HTTP toxics and non-HTTP bytes', () => {
  it('passes bytes that are not HTTP through untouched and reports it once', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const server = cleanup.add(await startProxyServer({ port: 0 }), (s) => s.close());
    const p = await server.proxies.create({ name: 'bin', upstream: echo.address });
    server.proxies.addToxic('bin', { type: 'http_abort', attributes: {} });
    const seen: Record<string, unknown>[] = [];
    const onMessage = (m: unknown) => seen.push(m as Record<string, unknown>);
    subscribe(chaosChannels.http.name, onMessage);
    cleanup.add(onMessage, (f) => unsubscribe(chaosChannels.http.name, f));
    const data = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47, 1, 2, 3, 0xff, 10, 13, 10]);
    const got = await roundTrip(portOf(p.listen), data);
    expect(got.data.equals(data)).toBe(true);
    expect(
      seen.filter((e) => e.kind === 'chaos.http.passthrough' && e.direction === 'upstream'),
    ).toHaveLength(1);
  });
});

describe('HTTP toxics through the REST API', () => {
  it('validates attributes with Toxiproxy error bodies', async () => {
    const s = await setup();
    const post = (body: unknown) =>
      raw(s.server.url, 'POST', '/proxies/web/toxics', JSON.stringify(body)).then((r) => ({
        status: r.status,
        body: JSON.parse(r.body) as { error: string; status: number },
      }));
    for (const attributes of [
      { status: 'abc' },
      { status: 99 },
      { percentage: 101 },
      { method: 7 },
      { path_prefix: 'nope' },
      { headers: ['x'] },
      { header_value: 'v' },
    ]) {
      const r = await post({ type: 'http_abort', attributes });
      expect(r.status).toBe(400);
      expect(r.body.status).toBe(400);
      expect(r.body.error).toMatch(/^bad request body: attributes\./);
    }
    expect((await post({ type: 'http_delay', attributes: { delay: -1 } })).status).toBe(400);
    expect(s.server.proxies.toxics('web')).toEqual([]);
  });

  it('works from toxiproxy-node-client', async () => {
    const s = await setup();
    const proxy = await new Toxiproxy(s.server.url).get('web');
    const toxic = await proxy.addToxic({
      name: 'maint',
      type: 'http_abort' as 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { status: 503, path_prefix: '/api' } as unknown as { latency: number; jitter: number },
    });
    expect(toxic.attributes).toMatchObject({ status: 503, path_prefix: '/api' });
    const c = await s.client();
    expect((await c.request('GET', '/api/x')).status).toBe(503);
    expect((await c.request('GET', '/web')).status).toBe(200);
    await toxic.remove();
    expect((await c.request('GET', '/api/x')).status).toBe(200);
  });
});
