import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Cleanup,
  collect,
  dial,
  portOf,
  readBytes,
  roundTrip,
  startEcho,
  startTcp,
  until,
} from '../proxy/loopback.fixtures.js';
import type { ToxicConfig } from '../proxy/model.js';
import { type ProxyServer, startProxyServer } from '../proxy/server.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A proxy server with one proxy in front of an echo server, plus the given toxics. */
async function echoProxy(
  toxics: ToxicConfig[] = [],
  random?: () => number,
): Promise<{ s: ProxyServer; port: number }> {
  const echo = cleanup.add(await startEcho(), (e) => e.close());
  const s = cleanup.add(
    await startProxyServer({ port: 0, ...(random === undefined ? {} : { random }) }),
    (x) => x.close(),
  );
  const p = await s.proxies.create({ name: 'p', upstream: echo.address, toxics });
  return { s, port: portOf(p.listen) };
}

/** Milliseconds for one request/response of `size` bytes on an open connection. */
async function rtt(port: number, size = 10): Promise<number> {
  const c = cleanup.socket(await dial(port));
  const t0 = performance.now();
  const got = readBytes(c, size);
  c.write(Buffer.alloc(size, 1));
  await got;
  const ms = performance.now() - t0;
  c.destroy();
  return ms;
}

describe('toxics over real sockets', () => {
  it('latency delays each chunk by latency (and not more), jitter stays within bounds', async () => {
    const { s, port } = await echoProxy([{ type: 'latency', attributes: { latency: 50 } }]);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await rtt(port));
    times.sort((a, b) => a - b);
    expect(times[2]).toBeGreaterThanOrEqual(50);
    expect(times[2]).toBeLessThan(60);
    s.proxies.updateToxic('p', 'latency_downstream', { attributes: { latency: 40, jitter: 10 } });
    for (let i = 0; i < 5; i++) {
      const ms = await rtt(port);
      expect(ms).toBeGreaterThanOrEqual(30);
      expect(ms).toBeLessThan(60);
    }
  });

  it('latency does not accumulate across a burst', async () => {
    const { port } = await echoProxy([{ type: 'latency', stream: 'upstream', attributes: { latency: 60 } }]);
    const c = cleanup.socket(await dial(port));
    const got = readBytes(c, 20 * 100);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      c.write(Buffer.alloc(100, i));
      await new Promise((r) => setImmediate(r));
    }
    const data = await got;
    const ms = performance.now() - t0;
    expect(data.length).toBe(2000);
    expect(ms).toBeGreaterThanOrEqual(60);
    expect(ms).toBeLessThan(150);
  });

  it('latency 0 passes chunks without a timer round', async () => {
    const { port } = await echoProxy([
      { type: 'latency', stream: 'upstream', attributes: { latency: 0 } },
      { type: 'latency', stream: 'downstream', attributes: { latency: 0 } },
    ]);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) times.push(await rtt(port));
    times.sort((a, b) => a - b);
    expect(times[10]).toBeLessThan(1);
  });

  it('bandwidth delivers within 5 % of its rate', async () => {
    const { port } = await echoProxy([{ type: 'bandwidth', attributes: { rate: 500 } }]);
    const c = cleanup.socket(await dial(port));
    const size = 500_000; // 1 s at 500 KB/s
    const got = readBytes(c, size);
    const t0 = performance.now();
    c.write(Buffer.alloc(size, 3));
    const data = await got;
    const seconds = (performance.now() - t0) / 1000;
    expect(data.length).toBe(size);
    const rate = size / 1000 / seconds;
    expect(Math.abs(rate - 500) / 500).toBeLessThan(0.05);
  });

  it('bandwidth 0 stalls; removing the toxic releases the data', async () => {
    const { s, port } = await echoProxy([{ type: 'bandwidth', attributes: { rate: 0 } }]);
    const c = cleanup.socket(await dial(port));
    const got = readBytes(c, 5);
    c.write('stall');
    await new Promise((r) => setTimeout(r, 100));
    let done = false;
    void got.then(() => {
      done = true;
    });
    expect(done).toBe(false);
    s.proxies.removeToxic('p', 'bandwidth_downstream');
    expect((await got).toString()).toBe('stall');
  });

  it('timeout drops data and closes after the timeout; 0 never closes', async () => {
    const { s, port } = await echoProxy([{ type: 'timeout', attributes: { timeout: 100 } }]);
    const c = cleanup.socket(await dial(port));
    const t0 = performance.now();
    const got = collect(c);
    c.write('lost');
    const r = await got;
    expect(r.data.length).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);

    s.proxies.updateToxic('p', 'timeout_downstream', { attributes: { timeout: 0 } });
    const d = cleanup.socket(await dial(port));
    const got2 = collect(d);
    d.write('lost too');
    await new Promise((res) => setTimeout(res, 150));
    expect(d.destroyed).toBe(false);
    // removing a timeout toxic closes the connections it held
    s.proxies.removeToxic('p', 'timeout_downstream');
    expect((await got2).data.length).toBe(0);
  });

  it('reset_peer closes with a TCP RST (ECONNRESET) after the timeout', async () => {
    const { port } = await echoProxy([{ type: 'reset_peer', attributes: { timeout: 50 } }]);
    const c = cleanup.socket(await dial(port));
    const got = collect(c);
    const t0 = performance.now();
    c.write('hello');
    const r = await got;
    expect(r.error?.code).toBe('ECONNRESET');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('reset_peer on the upstream stream resets on EOF', async () => {
    const { port } = await echoProxy([{ type: 'reset_peer', stream: 'upstream' }]);
    const c = cleanup.socket(await dial(port));
    const got = collect(c);
    c.end();
    expect((await got).error?.code).toBe('ECONNRESET');
  });

  it('limit_data passes that many bytes, then closes', async () => {
    const { port } = await echoProxy([{ type: 'limit_data', attributes: { bytes: 10 } }]);
    const c = cleanup.socket(await dial(port));
    const got = collect(c);
    c.write('0123456');
    c.write('789abcdef');
    const r = await got;
    expect(r.data.toString()).toBe('0123456789');
    expect(r.ended).toBe(true);
  });

  it('slicer splits data into small pieces with delays, byte for byte', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = cleanup.add(await startProxyServer({ port: 0 }), (x) => x.close());
    const p = await s.proxies.create({ name: 'p', upstream: echo.address });
    s.proxies.addToxic('p', {
      type: 'slicer',
      attributes: { average_size: 10, size_variation: 4, delay: 1000 },
    });
    const c = cleanup.socket(await dial(portOf(p.listen)));
    const pieces: number[] = [];
    c.on('data', (d: Buffer) => pieces.push(d.length));
    const got = readBytes(c, 200);
    const data = Buffer.from('x'.repeat(200));
    const t0 = performance.now();
    c.write(data);
    expect((await got).equals(data)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(10);
    expect(pieces.length).toBeGreaterThan(5);
    expect(Math.max(...pieces)).toBeLessThan(100);
  });

  it('slow_close delays the close, data flows at once', async () => {
    const { port } = await echoProxy([{ type: 'slow_close', attributes: { delay: 150 } }]);
    const t0 = performance.now();
    const c = cleanup.socket(await dial(port));
    const got = collect(c);
    const first = readBytes(c, 3);
    c.end('abc');
    expect((await first).toString()).toBe('abc');
    expect(performance.now() - t0).toBeLessThan(100);
    await got;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it('toxicity 0 never applies, 1 always; the dice are injectable', async () => {
    const { s, port } = await echoProxy(
      [{ type: 'timeout', toxicity: 0, attributes: { timeout: 1 } }],
      () => 0.5,
    );
    expect((await roundTrip(port, Buffer.from('ok'))).data.toString()).toBe('ok');
    s.proxies.updateToxic('p', 'timeout_downstream', { toxicity: 0.6 });
    expect((await roundTrip(port, Buffer.from('ok'))).data.toString()).toBe('');
    s.proxies.updateToxic('p', 'timeout_downstream', { toxicity: 0.4 });
    expect((await roundTrip(port, Buffer.from('ok'))).data.toString()).toBe('ok');
    s.proxies.updateToxic('p', 'timeout_downstream', { toxicity: 1 });
    expect((await roundTrip(port, Buffer.from('ok'))).data.toString()).toBe('');
  });

  it('toxics added and removed under live traffic affect live connections, data intact', async () => {
    const { s, port } = await echoProxy();
    const c = cleanup.socket(await dial(port));
    const total = 4 << 20;
    const got = readBytes(c, total);
    const block = Buffer.alloc(64 << 10);
    for (let i = 0; i < block.length; i++) block[i] = i % 251;
    let sent = 0;
    const types: ToxicConfig[] = [
      { type: 'latency', attributes: { latency: 5, jitter: 3 } },
      { type: 'bandwidth', stream: 'upstream', attributes: { rate: 20_000 } },
      { type: 'slicer', stream: 'both', attributes: { average_size: 8192, size_variation: 1000 } },
      { type: 'noop' },
    ];
    let step = 0;
    while (sent < total) {
      if (!c.write(block)) await new Promise((r) => c.once('drain', r));
      sent += block.length;
      const t = types[step % types.length] as ToxicConfig;
      const name = `${t.type}_${t.stream ?? 'downstream'}`;
      if (Math.floor(step / types.length) % 2 === 0) s.proxies.addToxic('p', t);
      else s.proxies.removeToxic('p', name);
      step++;
    }
    const data = await got;
    expect(data.length).toBe(total);
    for (let i = 0; i < total; i += 997) expect(data[i]).toBe((i % block.length) % 251);
  });

  it('stream "both" applies one toxic to both directions and lists once', async () => {
    const { s, port } = await echoProxy([{ type: 'latency', stream: 'both', attributes: { latency: 30 } }]);
    expect(s.proxies.toxics('p')).toEqual([
      {
        name: 'latency_both',
        type: 'latency',
        stream: 'both',
        toxicity: 1,
        attributes: { latency: 30, jitter: 0 },
      },
    ]);
    const ms = await rtt(port);
    expect(ms).toBeGreaterThanOrEqual(60);
    expect(ms).toBeLessThan(90);
  });

  it('refuse_connection resets new connections; delay_accept holds them', async () => {
    const echo = cleanup.add(await startEcho(), (e) => e.close());
    const s = cleanup.add(await startProxyServer({ port: 0 }), (x) => x.close());
    const p = await s.proxies.create({ name: 'p', upstream: echo.address });
    const port = portOf(p.listen);
    const live = cleanup.socket(await dial(port));
    s.proxies.addToxic('p', { type: 'refuse_connection' });
    for (let i = 0; i < 3; i++) {
      const c = cleanup.socket(connect({ host: '127.0.0.1', port }));
      const r = await collect(c);
      expect(r.error?.code).toBe('ECONNRESET');
      expect(r.data.length).toBe(0);
    }
    expect(live.destroyed).toBe(false);
    live.destroy();
    s.proxies.removeToxic('p', 'refuse_connection_downstream');
    s.proxies.addToxic('p', { type: 'delay_accept', attributes: { delay: 100 } });
    const t0 = performance.now();
    const reply = await roundTrip(port, Buffer.from('held'));
    expect(reply.data.toString()).toBe('held');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    await until(() => echo.sockets.size === 0);
  });

  it('an upstream that never answers, behind latency and timeout toxics, leaves nothing open', async () => {
    const silent = cleanup.add(await startTcp(() => {}), (e) => e.close());
    const s = cleanup.add(await startProxyServer({ port: 0 }), (x) => x.close());
    const p = await s.proxies.create({
      name: 'p',
      upstream: silent.address,
      toxics: [
        { type: 'latency', stream: 'upstream', attributes: { latency: 10 } },
        { type: 'timeout', attributes: { timeout: 50 } },
      ],
    });
    const r = await roundTrip(portOf(p.listen), Buffer.from('anyone?'));
    expect(r.data.length).toBe(0);
    // the silent server keeps its half-open side; what matters is that the proxy let go of both
    await until(() => s.proxies.stats()[0]?.connectionsOpen === 0);
  });
});
