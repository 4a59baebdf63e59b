import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type CliProcess, runCli, stackFrame, startCli, stopAllCli } from './cli-process.js';
import { fillFixture, fixturePath, removeTempDirs, tempDir } from './fixture-files.js';
import { dial, echoRoundTrip, type LocalServer, portOf, startEchoServer } from './local-servers.js';

const servers: LocalServer[] = [];

beforeAll(assertBuilt);
afterEach(async () => {
  await stopAllCli();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  removeTempDirs();
});

async function echoServer(): Promise<LocalServer> {
  const s = await startEchoServer();
  servers.push(s);
  return s;
}

/** Starts `faultline proxy --port 0 …` and waits for its "admin API on <url>" line. */
async function startProxyCli(
  args: readonly string[] = [],
): Promise<{ cli: CliProcess; url: string; port: number }> {
  const cli = startCli(['proxy', '--port', '0', ...args]);
  const m = await cli.waitForOutput(
    /^faultline proxy: admin API on (http:\/\/127\.0\.0\.1:(\d+)) \(\d+ prox(y|ies)\)$/m,
  );
  return { cli, url: m[1] as string, port: Number(m[2]) };
}

/** Sends SIGINT; the process must exit 0 within `ms`. */
async function interrupt(cli: CliProcess, ms = 3000): Promise<void> {
  const t0 = Date.now();
  cli.child.kill('SIGINT');
  const r = await cli.waitForExit(ms);
  expect(r, r.stderr).toMatchObject({ code: 0, signal: null });
  expect(Date.now() - t0).toBeLessThan(ms);
  expect(r.stderr).toBe('');
}

async function expectRefused(port: number): Promise<void> {
  await expect(dial(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
}

describe('faultline proxy (the process)', () => {
  it('is driven by toxiproxy-node-client: proxy, latency toxic over a real socket, remove, reset; SIGINT closes everything', async () => {
    const echo = await echoServer();
    const { cli, url, port } = await startProxyCli();
    expect(cli.stdout).toContain('(0 proxies)');
    const client = new Toxiproxy(url);
    expect(await client.getVersion()).toContain('2.12.0');

    const proxy = await client.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address });
    const proxyPort = portOf(proxy.listen);
    expect(proxyPort).toBeGreaterThan(0);
    const plain = await echoRoundTrip(proxyPort, 'plain');
    expect(plain.reply).toBe('plain');

    const toxic = await proxy.addToxic({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 300, jitter: 0 },
    });
    expect(toxic.toJson()).toMatchObject({ name: 'slow', type: 'latency', attributes: { latency: 300 } });
    const slow = await echoRoundTrip(proxyPort, 'slow');
    expect(slow.reply).toBe('slow');
    expect(slow.ms).toBeGreaterThanOrEqual(290);

    await toxic.remove();
    const fast = await echoRoundTrip(proxyPort, 'fast');
    expect(fast.reply).toBe('fast');
    expect(fast.ms).toBeLessThan(150);

    await proxy.addToxic({
      name: 'again',
      type: 'latency',
      stream: 'upstream',
      toxicity: 1,
      attributes: { latency: 5000, jitter: 0 },
    });
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await client.reset();
    const afterReset = await client.get('echo');
    expect(afterReset.enabled).toBe(true);
    const toxics = (await (await fetch(`${url}/proxies/echo/toxics`)).json()) as unknown[];
    expect(toxics).toEqual([]);
    expect((await echoRoundTrip(portOf(afterReset.listen), 'reset')).ms).toBeLessThan(150);

    // a live connection through the proxy must not keep the process alive
    const open = await dial(portOf(afterReset.listen));
    // half-open socket: the proxy going away shows as 'end' (FIN) or 'close' (RST)
    const openEnded = Promise.race([once(open, 'end'), once(open, 'close')]);
    await interrupt(cli);
    await openEnded;
    open.destroy();
    await expectRefused(port);
    await expectRefused(portOf(afterReset.listen));
  });

  it('--config FILE creates the proxies of a fixture config, declarative toxics included', async () => {
    const echo = await echoServer();
    const config = fillFixture('proxies.json', tempDir(), { echo: echo.address });
    const { cli, url, port } = await startProxyCli(['--config', config]);
    expect(cli.stdout).toContain('(2 proxies)');
    const all = await new Toxiproxy(url).getAll();
    expect(Object.keys(all).sort()).toEqual(['echo', 'standby']);
    expect(all.standby?.enabled).toBe(false);
    const slow = await (all.echo as NonNullable<typeof all.echo>).getToxic('slow');
    expect(slow.toJson()).toMatchObject({
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 150 },
    });

    const listen = portOf(all.echo?.listen ?? '');
    const r = await echoRoundTrip(listen, 'configured');
    expect(r.reply).toBe('configured');
    expect(r.ms).toBeGreaterThanOrEqual(140);

    await interrupt(cli);
    await expectRefused(port);
    await expectRefused(listen);
  });

  it('a bad --config file stops the start with an error naming the file and the field, no stack trace', async () => {
    const file = fixturePath('bad-proxies.json');
    const r = await runCli(['proxy', '--port', '0', '--config', file]);
    expect(r.code).not.toBe(0);
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}: [0].toxics[0].attributes.latency: must be an integer, got "5"`);
    expect(r.stderr).not.toMatch(stackFrame);
  });

  it.each([
    ['not JSON', '[{"name": "db",', /not valid JSON/],
    ['not an array', '{"name": "db"}', /\(top level\): must be an array of proxies/],
    ['a proxy without upstream', '[{"name": "db"}]', /\[0\]\.upstream: missing required field/],
  ])('a config file that is %s is refused with the file named', async (_what, text, message) => {
    const dir = tempDir();
    const file = join(dir, 'proxies.json');
    writeFileSync(file, text);
    const r = await runCli(['proxy', '--port', '0', '--config', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(stackFrame);
  });

  it('a missing --config file is refused with the file named', async () => {
    const file = join(tempDir(), 'missing.json');
    const r = await runCli(['proxy', '--port', '0', '--config', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file}: cannot read`);
    expect(r.stderr).not.toMatch(stackFrame);
  });

  it('--events FILE writes every change as a JSON line in the bundle shape', async () => {
    const echo = await echoServer();
    const events = join(tempDir(), 'events.jsonl');
    const { cli, url } = await startProxyCli(['--events', events]);
    const client = new Toxiproxy(url);
    const proxy = await client.createProxy({ name: 'db', listen: '127.0.0.1:0', upstream: echo.address });
    const toxic = await proxy.addToxic({
      name: 'db-latency',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 100, jitter: 0 },
    });
    await toxic.update({ ...toxic.toJson(), attributes: { latency: 200, jitter: 0 } });
    await client.reset();
    await interrupt(cli);

    const lines = readFileSync(events, 'utf8').split('\n');
    expect(lines.pop()).toBe(''); // every line ends with a newline
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) {
      expect(typeof r.time).toBe('string');
      expect(new Date(r.time as string).toISOString()).toBe(r.time);
      expect(r.kind).toMatch(/^chaos\./);
    }
    expect(records.map((r) => r.kind)).toEqual([
      'chaos.proxy.created',
      'chaos.toxic.added',
      'chaos.toxic.updated',
      'chaos.toxic.removed',
      'chaos.reset',
    ]);
    expect(records[0]).toMatchObject({
      proxy: 'db',
      config: { name: 'db', upstream: echo.address, enabled: true },
    });
    expect(records[1]).toEqual({
      time: expect.any(String),
      kind: 'chaos.toxic.added',
      proxy: 'db',
      toxic: {
        name: 'db-latency',
        type: 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: { latency: 100, jitter: 0 },
      },
    });
    expect(records[2]).toMatchObject({
      proxy: 'db',
      toxic: { name: 'db-latency', attributes: { latency: 200 } },
    });
    expect(records[3]).toMatchObject({ proxy: 'db', toxic: { name: 'db-latency' } });
  });

  it('an events file that cannot be opened stops the start with a clear error', async () => {
    const events = join(tempDir(), 'no-such-folder', 'events.jsonl');
    const r = await runCli(['proxy', '--port', '0', '--events', events]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot open events file ${events}`);
    expect(r.stderr).not.toMatch(stackFrame);
  });

  it('an admin port in use is refused with a clear error', async () => {
    const { cli, port } = await startProxyCli();
    const r = await runCli(['proxy', '--port', String(port)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`listen tcp 127.0.0.1:${port}: bind: address already in use`);
    expect(r.stderr).not.toMatch(stackFrame);
    await interrupt(cli);
  });

  it('SIGTERM stops it as SIGINT does', async () => {
    const { cli, port } = await startProxyCli();
    cli.child.kill('SIGTERM');
    expect(await cli.waitForExit(3000)).toMatchObject({ code: 0, signal: null });
    await expectRefused(port);
  });
});
