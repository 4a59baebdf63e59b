import { Toxiproxy, ToxiproxyError } from 'toxiproxy-node-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cleanup, portOf, roundTrip, startEcho, type TcpFixture } from '../proxy/loopback.fixtures.js';
import { type ProxyServer, startProxyServer } from '../proxy/server.js';

const cleanup = new Cleanup();
let server: ProxyServer;
let echo: TcpFixture;
let client: Toxiproxy;

beforeEach(async () => {
  echo = cleanup.add(await startEcho(), (e) => e.close());
  server = cleanup.add(await startProxyServer({ port: 0 }), (s) => s.close());
  client = new Toxiproxy(server.url);
});
afterEach(() => cleanup.run());

describe('toxiproxy-node-client against the fault proxy', () => {
  it('creates, lists, gets, updates and removes proxies', async () => {
    const created = await client.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address });
    expect(created.name).toBe('echo');
    expect(created.enabled).toBe(true);
    expect(portOf(created.listen)).toBeGreaterThan(0);
    expect((await roundTrip(portOf(created.listen), Buffer.from('hi'))).data.toString()).toBe('hi');

    const all = await client.getAll();
    expect(Object.keys(all)).toEqual(['echo']);
    expect(all.echo?.upstream).toBe(echo.address);

    const got = await client.get('echo');
    expect(got.toJson()).toEqual({
      name: 'echo',
      listen: created.listen,
      upstream: echo.address,
      enabled: true,
    });

    const disabled = await got.update({ enabled: false, listen: got.listen, upstream: got.upstream });
    expect(disabled.enabled).toBe(false);
    const enabled = await disabled.update({ enabled: true, listen: got.listen, upstream: got.upstream });
    expect(enabled.enabled).toBe(true);

    await enabled.remove();
    expect(Object.keys(await client.getAll())).toEqual([]);
  });

  it('populates proxies', async () => {
    const proxies = await client.populate([
      { name: 'a', listen: '127.0.0.1:0', upstream: echo.address },
      { name: 'b', listen: '127.0.0.1:0', upstream: echo.address, enabled: false },
    ]);
    expect(Object.keys(proxies).sort()).toEqual(['a', 'b']);
    expect(proxies.a?.enabled).toBe(true);
    expect(proxies.b?.enabled).toBe(false);
  });

  it('adds, gets, updates and removes toxics', async () => {
    const proxy = await client.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address });
    const toxic = await proxy.addToxic({
      name: 'slow',
      type: 'latency',
      stream: 'upstream',
      toxicity: 1,
      attributes: { latency: 10, jitter: 2 },
    });
    expect(toxic.toJson()).toEqual({
      name: 'slow',
      type: 'latency',
      stream: 'upstream',
      toxicity: 1,
      attributes: { latency: 10, jitter: 2 },
    });
    const fetched = await proxy.getToxic('slow');
    expect(fetched.attributes).toEqual({ latency: 10, jitter: 2 });

    const updated = await fetched.update({
      name: 'slow',
      type: 'latency',
      stream: 'upstream',
      toxicity: 0.5,
      attributes: { latency: 20, jitter: 0 },
    });
    expect(updated.toxicity).toBe(0.5);
    expect(updated.attributes).toEqual({ latency: 20, jitter: 0 });

    await updated.remove();
    await expect(proxy.getToxic('slow')).rejects.toThrow(ToxiproxyError);
  });

  it('resets: toxics removed, proxies enabled', async () => {
    const proxy = await client.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address });
    await proxy.addToxic({
      name: 't',
      type: 'timeout',
      stream: 'downstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await client.reset();
    const after = await client.get('echo');
    expect(after.enabled).toBe(true);
    expect(server.proxies.toxics('echo')).toEqual([]);
    expect((await roundTrip(portOf(after.listen), Buffer.from('back'))).data.toString()).toBe('back');
  });

  it('reports the version', async () => {
    expect(JSON.parse(await client.getVersion())).toMatchObject({ version: '2.12.0' });
  });

  it('surfaces errors as the client expects', async () => {
    await client.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address });
    await expect(
      client.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address }),
    ).rejects.toThrow('Request failed with status code 409');
    await expect(client.get('missing')).rejects.toThrow('Request failed with status code 404');
    const proxy = await client.get('echo');
    await expect(
      proxy.addToxic({
        name: 'x',
        type: 'nope' as 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: {},
      }),
    ).rejects.toThrow('Request failed with status code 400');
  });
});
