import { afterEach, describe, expect, it } from 'vitest';
import { type CountingUpstream, startCountingUpstream } from '../proxy/http.fixtures.js';
import { Cleanup } from '../proxy/loopback.fixtures.js';
import { type ProxyServer, startProxyServer } from '../proxy/server.js';
import { isExperimentError } from './errors.js';
import { validateExperiment } from './load-experiment.js';
import { runExperiment } from './run-experiment.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function setup(): Promise<{ server: ProxyServer; upstream: CountingUpstream; web: string }> {
  const upstream = cleanup.add(await startCountingUpstream(), (u) => u.close());
  const server = cleanup.add(await startProxyServer({ port: 0 }), (s) => s.close());
  const proxy = await server.proxies.create({ name: 'web', upstream: upstream.address });
  return { server, upstream, web: `http://${proxy.listen}` };
}

function experiment(web: string, method: unknown[]) {
  return validateExperiment({
    title: 'checkout outage leaves health alone',
    steadyState: { probes: [{ type: 'http', name: 'health', url: `${web}/health`, status: 200 }] },
    method,
  });
}

describe('the http-fault action', () => {
  it('adds HTTP toxics through the REST API and removes them at the end', async () => {
    const { server, upstream, web } = await setup();
    const def = experiment(web, [
      {
        type: 'http-fault',
        api: server.url,
        proxy: 'web',
        toxic: 'checkout',
        abort: { status: 503 },
        delay: { duration: '20ms' },
        match: { method: 'POST', pathPrefix: '/checkout', headers: { 'x-tenant': 'a' } },
      },
      { type: 'http', url: `${web}/checkout/1`, headers: { 'x-tenant': 'a' }, expectStatus: 503 },
      { type: 'http', url: `${web}/checkout/1`, headers: { 'x-tenant': 'b' }, expectStatus: 200 },
    ]);
    const j = await runExperiment(def);
    expect(j.status).toBe('completed');
    expect(j.method.map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(j.method[0]?.output).toMatchObject({
      toxics: [
        { name: 'checkout-delay', type: 'http_delay', attributes: { delay: 20, method: 'POST' } },
        { name: 'checkout-abort', type: 'http_abort', attributes: { status: 503, path_prefix: '/checkout' } },
      ],
    });
    expect(j.method[1]?.output).toMatchObject({ status: 503, latencyMs: expect.any(Number) });
    expect((j.method[1]?.output as { latencyMs?: number } | undefined)?.latencyMs).toBeGreaterThanOrEqual(20);
    expect(j.cleanup.map((c) => [c.kind, c.ok])).toEqual([
      ['toxic', true],
      ['toxic', true],
    ]);
    expect(server.proxies.toxics('web')).toEqual([]);
    expect(upstream.hits.filter((h) => h.url === '/checkout/1').map((h) => h.headers['x-tenant'])).toEqual([
      'b',
    ]);
  });

  it('removes its toxic when a later action fails', async () => {
    const { server, web } = await setup();
    const def = experiment(web, [
      { type: 'http-fault', api: server.url, proxy: 'web', abort: { status: 500, percentage: 100 } },
      { type: 'http', url: `${web}/any`, expectStatus: 200 },
    ]);
    const j = await runExperiment(def);
    expect(j.status).toBe('failed');
    expect(j.method[1]?.error).toMatch(/status 500/);
    expect(j.cleanup).toMatchObject([
      { kind: 'toxic', ok: true, target: expect.stringContaining('http_fault_1') },
    ]);
    expect(server.proxies.toxics('web')).toEqual([]);
  });

  it('fails with the API error when the toxic cannot be added', async () => {
    const { server, web } = await setup();
    const j = await runExperiment(
      experiment(web, [{ type: 'http-fault', api: server.url, proxy: 'nope', delay: { duration: 10 } }]),
    );
    expect(j.status).toBe('failed');
    expect(j.method[0]?.error).toBe('HTTP 404: proxy not found');
  });

  it('is validated: needs abort or delay, checks ranges', () => {
    const bad = (action: Record<string, unknown>) => {
      try {
        validateExperiment({
          title: 't',
          steadyState: { probes: [{ type: 'http', url: 'http://127.0.0.1:1/' }] },
          method: [{ type: 'http-fault', proxy: 'web', ...action }],
        });
        return 'valid';
      } catch (e) {
        return isExperimentError(e) ? e.message : String(e);
      }
    };
    expect(bad({})).toMatch(/needs "abort", "delay" or both/);
    expect(bad({ abort: { status: 99 } })).toMatch(/abort\.status: must be an integer in \[200, 599\]/);
    expect(bad({ delay: { duration: '1s', percentage: 101 } })).toMatch(/delay\.percentage/);
    expect(bad({ abort: {}, match: { pathPrefix: 'x' } })).toMatch(/match\.pathPrefix: must start with/);
    expect(bad({ abort: {}, match: { path: '/' } })).toMatch(/match/);
    expect(bad({ abort: {} })).toBe('valid');
  });
});
