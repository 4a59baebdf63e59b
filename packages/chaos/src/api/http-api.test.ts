import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cleanup, portOf, startEcho, type TcpFixture } from '../proxy/loopback.fixtures.js';
import { type ProxyServer, startProxyServer } from '../proxy/server.js';
import { errorBody, raw } from './api.fixtures.js';

const cleanup = new Cleanup();
let s: ProxyServer;
let echo: TcpFixture;

beforeEach(async () => {
  echo = cleanup.add(await startEcho(), (e) => e.close());
  s = cleanup.add(await startProxyServer({ port: 0 }), (x) => x.close());
});
afterEach(() => cleanup.run());

const json = (v: unknown) => JSON.stringify(v);

describe('REST API, exact statuses and bodies', () => {
  it('refuses browsers, answers unknown paths 404 and wrong methods 405', async () => {
    const ua = await raw(s.url, 'GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0 (X11)' });
    expect(ua.status).toBe(403);
    expect(ua.body).toBe('User agent not allowed\n');
    for (const path of [
      '/',
      '/nope',
      '/proxies/',
      '//proxies',
      '/proxies/a/b',
      '/proxies/a/toxics/b/c',
      '/%zz',
    ]) {
      const r = await raw(s.url, 'GET', path);
      expect([path, r.status, r.body]).toEqual([path, 404, '404 page not found\n']);
    }
    for (const [method, path] of [
      ['DELETE', '/proxies'],
      ['GET', '/reset'],
      ['PUT', '/proxies/a'],
      ['GET', '/populate'],
      ['POST', '/version'],
      ['HEAD', '/proxies/a/toxics'],
    ] as const) {
      const r = await raw(s.url, method, path);
      expect([method, path, r.status, r.body]).toEqual([method, path, 405, '']);
    }
  });

  it('creates proxies with 201 and validates them', async () => {
    const created = await raw(s.url, 'POST', '/proxies', json({ name: 'e', upstream: echo.address }));
    expect(created.status).toBe(201);
    const body = JSON.parse(created.body);
    expect(body).toMatchObject({ name: 'e', upstream: echo.address, enabled: true, toxics: [] });
    expect(portOf(body.listen)).toBeGreaterThan(0);

    const cases: [string, number, string][] = [
      [json({ upstream: 'x:1' }), 400, 'missing required field: name'],
      [json({ name: 'x' }), 400, 'missing required field: upstream'],
      [json({ name: 'e', upstream: 'x:1' }), 409, 'proxy already exists'],
      ['{bad json', 400, 'bad request body: '],
      ['', 400, 'bad request body: EOF'],
      [
        json({ name: 5, upstream: 'x:1' }),
        400,
        'bad request body: json: cannot unmarshal number into Go struct field Proxy.name of type string',
      ],
      [
        json({ name: 'y', upstream: 'x:1', enabled: 'yes' }),
        400,
        'bad request body: json: cannot unmarshal string into Go struct field Proxy.enabled of type bool',
      ],
      ['[1,2]', 400, 'bad request body: json: cannot unmarshal array into Go value of type proxy.Proxy'],
      [
        json({ name: 'z', upstream: 'x:1', listen: body.listen }),
        500,
        `listen tcp ${body.listen}: bind: address already in use`,
      ],
      [
        json({ name: 'z', upstream: 'x:1', listen: 'nohost' }),
        500,
        'listen tcp: address nohost: missing port in address',
      ],
    ];
    for (const [input, status, message] of cases) {
      const r = await raw(s.url, 'POST', '/proxies', input);
      expect(r.status).toBe(status);
      expect(r.headers['content-type']).toBe('application/json');
      const err = JSON.parse(r.body);
      expect(err.status).toBe(status);
      expect(err.error.startsWith(message)).toBe(true);
      expect(r.body.endsWith('}\n')).toBe(true);
      if (!message.endsWith(': ')) expect(r.body).toBe(errorBody(status, message));
    }
  });

  it('gets, updates (POST and PATCH), deletes proxies', async () => {
    await raw(s.url, 'POST', '/proxies', json({ name: 'e', upstream: echo.address }));
    expect((await raw(s.url, 'GET', '/proxies/e')).status).toBe(200);
    expect(await raw(s.url, 'GET', '/proxies/x')).toMatchObject({
      status: 404,
      body: errorBody(404, 'proxy not found'),
    });
    const off = await raw(s.url, 'PATCH', '/proxies/e', json({ enabled: false }));
    expect(off.status).toBe(200);
    expect(JSON.parse(off.body)).toMatchObject({ enabled: false, upstream: echo.address });
    const on = await raw(s.url, 'POST', '/proxies/e', json({ enabled: true, upstream: '127.0.0.1:9' }));
    expect(JSON.parse(on.body)).toMatchObject({ enabled: true, upstream: '127.0.0.1:9' });
    const list = JSON.parse((await raw(s.url, 'GET', '/proxies')).body);
    expect(Object.keys(list)).toEqual(['e']);
    expect(await raw(s.url, 'DELETE', '/proxies/e')).toMatchObject({ status: 204, body: '' });
    expect((await raw(s.url, 'DELETE', '/proxies/e')).status).toBe(404);
  });

  it('populates: validates all first, keeps identical proxies, replaces others', async () => {
    const bad = await raw(
      s.url,
      'POST',
      '/populate',
      json([{ name: 'a', upstream: echo.address }, { upstream: 'x:1' }]),
    );
    expect(bad).toMatchObject({
      status: 400,
      body: errorBody(400, 'missing required field: name at proxy 2'),
    });
    expect(s.proxies.list()).toEqual([]);
    const first = await raw(
      s.url,
      'POST',
      '/populate',
      json([
        { name: 'a', listen: '127.0.0.1:0', upstream: echo.address },
        { name: 'b', upstream: echo.address, enabled: false },
      ]),
    );
    expect(first.status).toBe(201);
    const proxies = JSON.parse(first.body).proxies as { name: string; listen: string; enabled: boolean }[];
    expect(proxies.map((p) => [p.name, p.enabled])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    const a = proxies[0] as { listen: string };
    s.proxies.addToxic('a', { type: 'noop' });
    const again = await raw(
      s.url,
      'POST',
      '/populate',
      json([{ name: 'a', listen: a.listen, upstream: echo.address }]),
    );
    expect(JSON.parse(again.body).proxies[0].toxics).toHaveLength(1);
    const replaced = await raw(s.url, 'POST', '/populate', json([{ name: 'a', upstream: '127.0.0.1:9' }]));
    expect(JSON.parse(replaced.body).proxies[0]).toMatchObject({ upstream: '127.0.0.1:9', toxics: [] });
    expect((await raw(s.url, 'POST', '/populate', json({ name: 'a' }))).status).toBe(400);
  });

  it('toxics: defaults, order, errors, merge on update, delete', async () => {
    await raw(s.url, 'POST', '/proxies', json({ name: 'e', upstream: echo.address }));
    const add = (body: unknown) => raw(s.url, 'POST', '/proxies/e/toxics', json(body));
    const first = await add({ type: 'latency', attributes: { latency: 5, unknown: 'x' } });
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 5, jitter: 0 },
    });
    expect((await add({ type: 'bandwidth', stream: 'upstream', toxicity: 0 })).status).toBe(200);
    expect((await add({ type: 'slicer', stream: 'both' })).status).toBe(200);
    expect(await add({ type: 'latency' })).toMatchObject({
      status: 409,
      body: errorBody(409, 'toxic already exists'),
    });
    expect(await add({ name: 'latency_downstream', type: 'noop', stream: 'upstream' })).toMatchObject({
      status: 409,
    });
    expect(await add({ type: 'latency', stream: 'sideways' })).toMatchObject({
      status: 400,
      body: errorBody(400, 'stream was invalid, can be either upstream or downstream'),
    });
    expect(await add({ type: 'nope' })).toMatchObject({
      status: 400,
      body: errorBody(400, 'invalid toxic type'),
    });
    expect(await add({})).toMatchObject({ status: 400, body: errorBody(400, 'invalid toxic type') });
    expect((await add({ type: 'noop', toxicity: 'high' })).status).toBe(400);
    expect((await add({ name: 'n', type: 'latency', attributes: { latency: 1.5 } })).status).toBe(400);
    expect((await add({ name: 'n', type: 'latency', attributes: [1] })).status).toBe(400);
    expect(await raw(s.url, 'POST', '/proxies/x/toxics', json({ type: 'noop' }))).toMatchObject({
      status: 404,
      body: errorBody(404, 'proxy not found'),
    });

    const list = JSON.parse((await raw(s.url, 'GET', '/proxies/e/toxics')).body) as {
      name: string;
      toxicity: number;
    }[];
    expect(list.map((t) => t.name)).toEqual(['bandwidth_upstream', 'latency_downstream', 'slicer_both']);
    expect(list[0]?.toxicity).toBe(0);

    const upd = await raw(
      s.url,
      'PATCH',
      '/proxies/e/toxics/latency_downstream',
      json({ attributes: { jitter: 3 } }),
    );
    expect(JSON.parse(upd.body)).toMatchObject({ toxicity: 1, attributes: { latency: 5, jitter: 3 } });
    const upd2 = await raw(s.url, 'POST', '/proxies/e/toxics/latency_downstream', json({ toxicity: 0.25 }));
    expect(JSON.parse(upd2.body)).toMatchObject({ toxicity: 0.25, attributes: { latency: 5, jitter: 3 } });
    expect(await raw(s.url, 'GET', '/proxies/e/toxics/zz')).toMatchObject({
      status: 404,
      body: errorBody(404, 'toxic not found'),
    });
    expect((await raw(s.url, 'GET', '/proxies/e/toxics/latency_downstream')).status).toBe(200);
    expect(await raw(s.url, 'DELETE', '/proxies/e/toxics/latency_downstream')).toMatchObject({
      status: 204,
      body: '',
    });
    expect((await raw(s.url, 'DELETE', '/proxies/e/toxics/latency_downstream')).status).toBe(404);
  });

  it('resets, reports version and metrics', async () => {
    await raw(s.url, 'POST', '/proxies', json({ name: 'e', upstream: echo.address }));
    await raw(s.url, 'POST', '/proxies/e/toxics', json({ type: 'noop' }));
    await raw(s.url, 'POST', '/proxies/e', json({ enabled: false }));
    expect(await raw(s.url, 'POST', '/reset')).toMatchObject({ status: 204, body: '' });
    expect(s.proxies.get('e')).toMatchObject({ enabled: true, toxics: [] });
    const v = await raw(s.url, 'GET', '/version');
    expect(v.status).toBe(200);
    expect(JSON.parse(v.body)).toMatchObject({ version: '2.12.0' });
    const m = await raw(s.url, 'GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toMatch(/^text\/plain/);
    expect(m.body).toContain('# TYPE toxiproxy_proxy_received_bytes_total counter');
    expect(m.body).toMatch(
      /toxiproxy_proxy_sent_bytes_total\{direction="downstream",proxy="e",listener="[^"]+",upstream="[^"]+"\} 0/,
    );
  });

  it('answers huge bodies 413, invalid UTF-8 and odd names without crashing', async () => {
    const huge = await raw(s.url, 'POST', '/proxies', Buffer.alloc(2 << 20, 0x20));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body)).toMatchObject({ status: 413 });
    const bytes = Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`","upstream":"${echo.address}"}`),
    ]);
    const odd = await raw(s.url, 'POST', '/proxies', bytes);
    expect(odd.status).toBe(201);
    expect(JSON.parse(odd.body).name).toBe('\uFFFD\uFFFD');
    const spaced = await raw(s.url, 'POST', '/proxies', json({ name: 'a b/c', upstream: echo.address }));
    expect(spaced.status).toBe(201);
    expect((await raw(s.url, 'GET', `/proxies/${encodeURIComponent('a b')}`)).status).toBe(404);
    expect((await raw(s.url, 'GET', '/version')).status).toBe(200);
  });
});
