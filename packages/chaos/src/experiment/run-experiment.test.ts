import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeOf, type Journal } from './journal.js';
import { validateExperiment } from './load-experiment.js';
import { runExperiment, startExperiment } from './run-experiment.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function listen(
  handler: Handler,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The system under test: /health is 503 while a fault is set through /admin/fault. */
async function startSut() {
  const state = { healthy: true, faultPosts: 0, faultDeletes: 0 };
  const s = await listen((req, res) => {
    if (req.url === '/health') {
      res.writeHead(state.healthy ? 200 : 503).end(state.healthy ? 'ok' : 'sick');
    } else if (req.url === '/admin/fault' && req.method === 'POST') {
      state.healthy = false;
      state.faultPosts++;
      res.writeHead(200).end('{"fault":"on"}');
    } else if (req.url === '/admin/fault' && req.method === 'DELETE') {
      state.healthy = true;
      state.faultDeletes++;
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  return { ...s, state };
}

/** A minimal Toxiproxy-compatible REST stub that records every call and holds toxics per proxy. */
async function startFakeToxiproxy() {
  const calls: { method: string; path: string; body: string }[] = [];
  const proxies = new Map<string, { enabled: boolean; toxics: Map<string, Record<string, unknown>> }>([
    ['db', { enabled: true, toxics: new Map() }],
  ]);
  const error = (res: ServerResponse, status: number, message: string) =>
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(`${JSON.stringify({ error: message, status })}\n`);
  const s = await listen((req, res, body) => {
    const path = decodeURI(req.url ?? '');
    calls.push({ method: req.method ?? '', path, body });
    const m = /^\/proxies\/([^/]+)(?:\/toxics(?:\/([^/]+))?)?$/.exec(path);
    const proxy = m === null ? undefined : proxies.get(m[1] as string);
    if (m === null) return error(res, 404, 'not found');
    if (proxy === undefined) return error(res, 404, 'proxy not found');
    const isToxics = path.includes('/toxics');
    const toxicName = m[2];
    if (!isToxics && req.method === 'POST') {
      const upd = JSON.parse(body) as { enabled?: boolean };
      if (upd.enabled !== undefined) proxy.enabled = upd.enabled;
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ name: m[1], enabled: proxy.enabled }));
    }
    if (isToxics && toxicName === undefined && req.method === 'POST') {
      const t = JSON.parse(body) as { name?: string; type: string; stream?: string };
      const name = t.name ?? `${t.type}_${t.stream ?? 'downstream'}`;
      if (proxy.toxics.has(name)) return error(res, 409, 'toxic already exists');
      const toxic = { ...t, name };
      proxy.toxics.set(name, toxic);
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(toxic));
    }
    if (toxicName !== undefined && req.method === 'DELETE') {
      if (!proxy.toxics.delete(toxicName)) return error(res, 404, 'toxic not found');
      return res.writeHead(204).end();
    }
    return error(res, 405, 'method not allowed');
  });
  const toxicsOf = (p = 'db') => [...(proxies.get(p)?.toxics.keys() ?? [])];
  return { ...s, calls, proxies, toxicsOf };
}

let sut: Awaited<ReturnType<typeof startSut>>;
let toxi: Awaited<ReturnType<typeof startFakeToxiproxy>>;
beforeEach(async () => {
  sut = await startSut();
  toxi = await startFakeToxiproxy();
});
afterEach(async () => {
  await sut.close();
  await toxi.close();
});

function experiment(extra: Record<string, unknown>) {
  return validateExperiment({
    title: 'db latency keeps the API healthy',
    steadyState: {
      probes: [{ type: 'http', name: 'health', url: `${sut.url}/health`, status: 200, maxLatency: 1000 }],
    },
    method: [],
    ...extra,
  });
}

function latencyToxic(name?: string) {
  return {
    type: 'proxy',
    name: `add ${name ?? 'latency'}`,
    api: toxi.url,
    proxy: 'db',
    add: { ...(name === undefined ? {} : { name }), type: 'latency', attributes: { latency: 100 } },
  };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('runExperiment', () => {
  it('completes: hypothesis before/after, toxic added then removed by the declared rollback', async () => {
    const lines: string[] = [];
    const def = experiment({
      method: [latencyToxic('db-lat'), { type: 'wait', duration: 50 }],
      rollbacks: [{ type: 'proxy', api: toxi.url, proxy: 'db', remove: 'db-lat' }],
    });
    const j = await runExperiment(def, { log: (l) => lines.push(l) });
    expect(j.status).toBe('completed');
    expect(exitCodeOf(j)).toBe(0);
    expect(j.steadyState.before?.met).toBe(true);
    expect(j.steadyState.after?.probes[0]).toMatchObject({ ok: true, value: { status: 200 } });
    expect(j.method.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    expect(j.method[0]?.output).toMatchObject({ name: 'db-lat', type: 'latency' });
    expect(j.rollbacks[0]?.status).toBe('succeeded');
    expect(j.cleanup).toEqual([]); // nothing left for the automatic cleanup
    expect(toxi.toxicsOf()).toEqual([]);
    expect(toxi.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /proxies/db/toxics',
      'DELETE /proxies/db/toxics/db-lat',
    ]);
    expect(Date.parse(j.endedAt)).toBeGreaterThanOrEqual(Date.parse(j.startedAt));
    expect(lines.join('\n')).toMatch(
      /steady state before: met[\s\S]*method:[\s\S]*rollbacks:[\s\S]*status: completed/,
    );
    // the journal is plain JSON
    expect(JSON.parse(JSON.stringify(j))).toMatchObject({ status: 'completed', journalVersion: 1 });
  });

  it('removes a toxic the run added even without a declared rollback (default name)', async () => {
    const j = await runExperiment(experiment({ method: [latencyToxic()] }));
    expect(j.status).toBe('completed');
    expect(j.cleanup).toMatchObject([
      { kind: 'toxic', ok: true, target: expect.stringContaining('latency_downstream') },
    ]);
    expect(toxi.toxicsOf()).toEqual([]);
  });

  it('does not remove a toxic it did not add (409 on add), and fails', async () => {
    toxi.proxies.get('db')?.toxics.set('theirs', { name: 'theirs', type: 'latency' });
    const j = await runExperiment(experiment({ method: [latencyToxic('theirs')] }));
    expect(j.status).toBe('failed');
    expect(j.reason).toMatch(/HTTP 409: toxic already exists/);
    expect(exitCodeOf(j)).toBe(2);
    expect(toxi.toxicsOf()).toEqual(['theirs']);
  });

  it('aborts before the method when the steady state does not hold: nothing injected', async () => {
    sut.state.healthy = false;
    const j = await runExperiment(
      experiment({
        method: [latencyToxic()],
        rollbacks: [{ type: 'http', url: `${sut.url}/admin/fault`, method: 'DELETE' }],
      }),
    );
    expect(j.status).toBe('aborted');
    expect(j.reason).toMatch(/did not hold before/);
    expect(j.steadyState.before?.probes[0]).toMatchObject({ ok: false, value: { status: 503 } });
    expect(toxi.calls).toEqual([]);
    expect(j.method).toEqual([]);
    expect(sut.state.faultDeletes).toBe(0);
    expect(exitCodeOf(j)).toBe(2);
  });

  it('fails on a failing action, still runs the rollbacks and removes the toxic', async () => {
    const j = await runExperiment(
      experiment({
        method: [
          latencyToxic('x'),
          { type: 'command', name: 'exit 3', command: process.execPath, args: ['-e', 'process.exit(3)'] },
          { type: 'wait', duration: 5000 },
        ],
        rollbacks: [{ type: 'http', url: `${sut.url}/admin/fault`, method: 'DELETE' }],
      }),
    );
    expect(j.status).toBe('failed');
    expect(j.reason).toMatch(/"exit 3" failed: exit 3, expected 0/);
    expect(j.method).toHaveLength(2);
    expect(j.rollbacks[0]?.status).toBe('succeeded');
    expect(toxi.toxicsOf()).toEqual([]);
    expect(j.durationMs).toBeLessThan(4000);
  });

  it('aborts when the steady state breaks past the guard during the method, and rolls back', async () => {
    const j = await runExperiment(
      experiment({
        steadyState: {
          probes: [{ type: 'http', name: 'health', url: `${sut.url}/health`, status: 200 }],
          during: { interval: 30, abortOn: { failures: 2 } },
        },
        method: [
          latencyToxic('lat'),
          { type: 'http', name: 'break it', url: `${sut.url}/admin/fault` },
          { type: 'wait', duration: 10_000 },
        ],
        rollbacks: [
          { type: 'http', name: 'heal', url: `${sut.url}/admin/fault`, method: 'DELETE', expectStatus: 204 },
        ],
      }),
    );
    expect(j.status).toBe('aborted');
    expect(j.reason).toMatch(/broke during the method \(2 failed checks\)/);
    expect(j.interrupted).toBeUndefined();
    expect(j.steadyState.duringFailures).toBe(2);
    expect(j.steadyState.during.at(-1)?.probes[0]).toMatchObject({ ok: false, value: { status: 503 } });
    expect(j.method[2]).toMatchObject({ type: 'wait', status: 'aborted' });
    expect(j.rollbacks).toMatchObject([{ name: 'heal', status: 'succeeded' }]);
    expect(sut.state.healthy).toBe(true);
    expect(toxi.toxicsOf()).toEqual([]);
    expect(j.durationMs).toBeLessThan(3000);
  });

  it('deviates when the steady state does not hold after the method', async () => {
    const j = await runExperiment(
      experiment({ method: [{ type: 'http', name: 'break it', url: `${sut.url}/admin/fault` }] }),
    );
    expect(j.status).toBe('deviated');
    expect(j.steadyState.after?.met).toBe(false);
    expect(exitCodeOf(j)).toBe(1);
  });

  it('on SIGINT: stops the method, rolls back, removes toxics and its signal handlers', async () => {
    const before = process.listeners('SIGINT');
    const run = startExperiment(
      experiment({
        method: [latencyToxic('a'), latencyToxic('b'), { type: 'wait', duration: 30_000 }],
        rollbacks: [{ type: 'http', url: `${sut.url}/admin/fault`, method: 'DELETE' }],
      }),
    );
    await until(() => toxi.toxicsOf().length === 2);
    const ours = process.listeners('SIGINT').filter((l) => !before.includes(l));
    expect(ours).toHaveLength(1);
    (ours[0] as (s: string) => void)('SIGINT'); // what Ctrl-C delivers
    const j = await run.journal;
    expect(j.status).toBe('aborted');
    expect(j.interrupted?.signal).toBe('SIGINT');
    expect(j.reason).toBe('interrupted (SIGINT)');
    expect(sut.state.faultDeletes).toBe(1);
    expect(toxi.toxicsOf()).toEqual([]);
    expect(j.cleanup.map((c) => c.ok)).toEqual([true, true]);
    expect(process.listeners('SIGINT')).toEqual(before);
    expect(j.durationMs).toBeLessThan(3000);
  });

  it('on abort() or an aborted signal: same guarantees', async () => {
    const ac = new AbortController();
    const p = runExperiment(experiment({ method: [latencyToxic('c'), { type: 'wait', duration: 30_000 }] }), {
      signal: ac.signal,
      handleSignals: false,
    });
    await until(() => toxi.toxicsOf().length === 1);
    ac.abort();
    const j: Journal = await p;
    expect(j.status).toBe('aborted');
    expect(toxi.toxicsOf()).toEqual([]);

    const run = startExperiment(
      experiment({ method: [latencyToxic('d'), { type: 'wait', duration: 30_000 }] }),
    );
    await until(() => toxi.toxicsOf().length === 1);
    run.abort('test');
    expect((await run.journal).interrupted?.signal).toBe('test');
    expect(toxi.toxicsOf()).toEqual([]);
  });

  it('disables a proxy (a partition) and re-enables it at the end', async () => {
    const j = await runExperiment(
      experiment({ method: [{ type: 'proxy', api: toxi.url, proxy: 'db', disable: true }] }),
    );
    expect(j.status).toBe('completed');
    expect(j.cleanup).toMatchObject([{ kind: 'proxy-enable', ok: true }]);
    expect(toxi.proxies.get('db')?.enabled).toBe(true);
  });

  it('a dry run probes and injects nothing', async () => {
    const lines: string[] = [];
    const j = await runExperiment(experiment({ method: [latencyToxic()] }), {
      dryRun: true,
      log: (l) => lines.push(l),
    });
    expect(j).toMatchObject({ status: 'completed', dryRun: true });
    expect(j.method[0]?.status).toBe('skipped');
    expect(toxi.calls).toEqual([]);
    expect(lines.join('\n')).toMatch(/dry run/);
  });

  it('records a probe that cannot connect as a failed probe with the error', async () => {
    await sut.close();
    const j = await runExperiment(experiment({ method: [{ type: 'wait', duration: 1 }] }));
    expect(j.status).toBe('aborted');
    expect(j.steadyState.before?.probes[0]?.error).toMatch(/ECONNREFUSED/);
  });
});
