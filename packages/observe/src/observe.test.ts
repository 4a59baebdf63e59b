import { channel } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHAOS_CHANNELS } from './metrics/event-metrics.js';
import { observe } from './observe.js';

const CHANNELS = [
  ...[
    'breaker-state',
    'retry',
    'retry-give-up',
    'budget-exhausted',
    'reject',
    'timeout',
    'limit',
    'hedge',
    'fallback',
  ].map((n) => `faultline:resilience:${n}`),
  ...CHAOS_CHANNELS.map((n) => `faultline:chaos:${n}`),
];

describe('observe()', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('leaves no subscription, timer, observer or listener after shutdown', async () => {
    const server = createServer();
    const listenersBefore = server.listenerCount('request');
    const emitBefore = server.emit;
    const setSpy = vi.spyOn(globalThis, 'setInterval');
    const clearSpy = vi.spyOn(globalThis, 'clearInterval');
    const observeSpy = vi.spyOn(PerformanceObserver.prototype, 'observe');
    const disconnectSpy = vi.spyOn(PerformanceObserver.prototype, 'disconnect');
    const obs = observe({ service: 'x' });
    const timers = setSpy.mock.results.map((r) => r.value as unknown);
    const observers = observeSpy.mock.contexts;
    expect(timers.length).toBeGreaterThan(0);
    expect(observers.length).toBeGreaterThan(0);
    obs.instrumentHttpServer(server);
    for (const name of CHANNELS) expect(channel(name).hasSubscribers, name).toBe(true);
    // requests are observed through one wrapper of the server's emit, not through listeners
    expect(server.emit).not.toBe(emitBefore);
    expect(server.listenerCount('request')).toBe(listenersBefore);
    await obs.metrics();

    obs.shutdown();
    obs.shutdown(); // idempotent
    for (const name of CHANNELS) expect(channel(name).hasSubscribers, name).toBe(false);
    expect(server.listenerCount('request')).toBe(listenersBefore);
    expect(server.emit).toBe(emitBefore);
    expect(Object.hasOwn(server, 'emit')).toBe(false);
    for (const t of timers) expect(clearSpy.mock.calls.some((c) => c[0] === t)).toBe(true);
    for (const o of observers) expect(disconnectSpy.mock.contexts).toContain(o);
    expect((await obs.metrics()).trim()).toBe('');
  });

  it('uses its own registry per instance, never the global one', async () => {
    const a = observe({ service: 'a' });
    const b = observe({ service: 'b' });
    try {
      expect(a.registry).not.toBe(b.registry);
      expect(await a.metrics()).toContain('service="a"');
      expect(await b.metrics()).not.toContain('service="a"');
    } finally {
      a.shutdown();
      b.shutdown();
    }
  });

  it('registers into a given registry and removes only its own metrics on shutdown', async () => {
    const registry = new Registry();
    registry.registerMetric(
      new (await import('prom-client')).Counter({ name: 'app_things_total', help: 'things', registers: [] }),
    );
    const obs = observe({ service: 'x', registry });
    expect(obs.registry).toBe(registry);
    expect(await registry.metrics()).toContain('nodejs_heap_used_bytes');
    obs.shutdown();
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['app_things_total']);
    // a second observer on the same registry works after the first shut down
    observe({ service: 'y', registry }).shutdown();
  });

  it('serves GET /metrics and declines other requests', async () => {
    const obs = observe({ service: 'x' });
    const server = createServer((req, res) => {
      if (obs.handler(req, res)) return;
      res.statusCode = 404;
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ok = await fetch(`${base}/metrics`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe(obs.registry.contentType);
      expect(await ok.text()).toContain('# TYPE nodejs_eventloop_delay_seconds gauge');
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${base}/metricsx`)).status).toBe(404);
    } finally {
      obs.shutdown();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
