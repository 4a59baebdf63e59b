import { afterEach, describe, expect, it } from 'vitest';
import {
  closedPort,
  get,
  portIsFree,
  sleep,
  startTestBackend,
  type TestBackend,
  tally,
  waitFor,
} from './balancer.fixtures.js';
import type { BalancerEvent, BalancerOptions, BalancerPolicy } from './balancer-options.js';
import { baselineBalancer, hardenedBalancer } from './balancer-presets.js';
import { NO_HEALTHY_UPSTREAM, type RunningBalancer, startBalancer } from './load-balancer.js';

/** Fast probes so a test sees ejections in tens of milliseconds. */
const fast: BalancerPolicy = {
  healthCheck: {
    path: '/health',
    intervalMs: 50,
    timeoutMs: 200,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
  },
  passive: undefined,
  upstreamTimeoutMs: 2000,
  maxEjectionPercent: 100,
  panicThresholdPercent: 0,
  slowStartMs: 0,
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  readonly lb: RunningBalancer;
  readonly backends: TestBackend[];
  readonly events: BalancerEvent[];
  of(kind: BalancerEvent['kind'], target?: string): BalancerEvent[];
}

async function setup(n: number, policy: Partial<BalancerOptions> = {}): Promise<Setup> {
  const backends: TestBackend[] = [];
  for (let i = 1; i <= n; i++) {
    const backend = await startTestBackend(`app-${i}`);
    backends.push(backend);
    cleanups.push(() => backend.close());
  }
  const events: BalancerEvent[] = [];
  const lb = await startBalancer({
    ...fast,
    ...policy,
    backends: backends.map((b) => ({ id: b.id, url: b.url })),
    onEvent: (e) => events.push(e),
  });
  cleanups.push(() => lb.close());
  const of = (kind: BalancerEvent['kind'], target?: string): BalancerEvent[] =>
    events.filter((e) => e.kind === kind && (target === undefined || e.target === target));
  return { lb, backends, events, of };
}

describe('startBalancer: routing', () => {
  it('spreads requests evenly over the backends', async () => {
    const { lb } = await setup(3);
    const counts = await tally(lb.url, 30);
    expect(Object.fromEntries(counts)).toEqual({ 'app-1': 10, 'app-2': 10, 'app-3': 10 });
  });

  it('propagates x-request-id, adds one when missing, and passes traceparent through', async () => {
    const { lb, backends } = await setup(1);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await get(`${lb.url}/x`, { 'x-request-id': 'req-42', traceparent });
    expect(res.headers['x-request-id']).toBe('req-42');
    expect(backends[0]?.lastHeaders['x-request-id']).toBe('req-42');
    expect(backends[0]?.lastHeaders.traceparent).toBe(traceparent);
    expect(res.headers['x-upstream-id']).toBe('app-1');

    const fresh = await get(`${lb.url}/x`);
    const generated = backends[0]?.lastHeaders['x-request-id'];
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.headers['x-request-id']).toBe(generated);
  });

  it('answers 502 when the backend refuses the connection', async () => {
    const port = await closedPort();
    const lb = await startBalancer({
      ...fast,
      healthCheck: { ...fast.healthCheck, intervalMs: 60_000 },
      backends: [{ id: 'gone', url: `http://127.0.0.1:${port}` }],
    });
    cleanups.push(() => lb.close());
    const res = await get(lb.url);
    expect(res.status).toBe(502);
    expect(res.body).toContain('ECONNREFUSED');
  });

  it('answers 504 when the backend is slower than the upstream timeout', async () => {
    const { lb, backends } = await setup(1, { upstreamTimeoutMs: 100 });
    backends[0]!.delayMs = 2000;
    const started = Date.now();
    const res = await get(lb.url);
    expect(res.status).toBe(504);
    expect(res.body).toBe('upstream request timeout');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('startBalancer: active health checks', () => {
  it('ejects after the unhealthy threshold with exactly one event, and returns after the healthy threshold', async () => {
    const { lb, backends, of } = await setup(3);
    backends[1]!.health = 'fail';
    await waitFor(() => of('lb.eject').length > 0, 2000, 'ejection');
    const [eject] = of('lb.eject');
    expect(eject).toMatchObject({ kind: 'lb.eject', service: 'lb', target: 'app-2', source: 'health_check' });
    expect(eject?.reason).toBe('2 failed health checks (HTTP 503)');
    expect(eject?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lb.state().find((s) => s.id === 'app-2')).toMatchObject({ healthy: false, ejected: true });

    const counts = await tally(lb.url, 10);
    expect(counts.get('app-2')).toBeUndefined();
    expect(counts.get('app-1')).toBe(5);

    await sleep(300); // more failed probes must not repeat the event
    expect(of('lb.eject')).toHaveLength(1);

    backends[1]!.health = 'ok';
    await waitFor(() => of('lb.return').length > 0, 2000, 'return');
    expect(of('lb.return')[0]).toMatchObject({ target: 'app-2', reason: '2 passed health checks' });
    await sleep(200);
    expect(of('lb.eject')).toHaveLength(1);
    expect(of('lb.return')).toHaveLength(1);
    expect((await tally(lb.url, 9)).get('app-2')).toBe(3);
  });

  it('ejects a backend whose health check hangs, by timeout', async () => {
    const { backends, of } = await setup(2);
    backends[0]!.health = 'hang';
    await waitFor(() => of('lb.eject').length > 0, 3000, 'ejection');
    expect(of('lb.eject')[0]).toMatchObject({
      target: 'app-1',
      reason: '2 failed health checks (timeout after 200ms)',
    });
  });

  it('baseline ejects every backend when all fail, then answers 503 no healthy upstream', async () => {
    const { lb, backends, of } = await setup(3, { ...baselineBalancer, healthCheck: fast.healthCheck });
    for (const b of backends) b.health = 'fail';
    await waitFor(() => of('lb.eject').length === 3, 3000, 'three ejections');
    const res = await get(lb.url);
    expect(res.status).toBe(503);
    expect(res.body).toBe(NO_HEALTHY_UPSTREAM);
    expect(of('lb.eject_skipped')).toHaveLength(0);
    expect(of('lb.panic')).toHaveLength(0);
  });

  it('hardened caps ejections at half the fleet, says so, and keeps serving', async () => {
    const { lb, backends, of } = await setup(3, {
      ...hardenedBalancer,
      healthCheck: fast.healthCheck,
      slowStartMs: 0,
    });
    for (const b of backends) b.health = 'fail';
    await waitFor(() => of('lb.eject').length + of('lb.eject_skipped').length === 3, 3000, 'three verdicts');
    await sleep(200);
    expect(of('lb.eject')).toHaveLength(1);
    expect(of('lb.eject_skipped')).toHaveLength(2);
    expect(of('lb.eject_skipped')[0]?.max_ejection_percent).toBe(50);
    expect(lb.state().filter((s) => s.ejected)).toHaveLength(1);
    // every backend fails its checks: below the 50 % panic threshold, so traffic goes to all three
    expect(of('lb.panic')).toHaveLength(1);
    const counts = await tally(lb.url, 9);
    expect(counts.get('503')).toBeUndefined();
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(9);
  });

  it('hardened cap keeps two of three in rotation even without panic mode', async () => {
    const { lb, backends, of } = await setup(3, { maxEjectionPercent: 50 });
    for (const b of backends) b.health = 'fail';
    await waitFor(() => of('lb.eject_skipped').length === 2, 3000, 'two skipped ejections');
    const ejected = of('lb.eject')[0]?.target;
    const counts = await tally(lb.url, 10);
    expect(counts.get(ejected ?? '')).toBeUndefined();
    expect([...counts.values()]).toEqual([5, 5]);

    // when the ejected one recovers, the cap frees room: one of the others, still failing, goes out
    const recovered = backends.find((b) => b.id === ejected)!;
    recovered.health = 'ok';
    await waitFor(() => of('lb.return').length === 1 && of('lb.eject').length === 2, 3000, 'swap');
    expect(lb.state().filter((s) => s.ejected)).toHaveLength(1);
  });

  it('panic mode routes to every backend when the healthy share drops below the threshold', async () => {
    const { lb, backends, of } = await setup(3, { panicThresholdPercent: 50 });
    backends[0]!.health = 'fail';
    await waitFor(() => of('lb.eject').length === 1, 3000, 'first ejection');
    expect(of('lb.panic')).toHaveLength(0); // 2 of 3 healthy: above 50 %
    backends[1]!.health = 'fail';
    await waitFor(() => of('lb.panic').length === 1, 3000, 'panic');
    expect(of('lb.eject')).toHaveLength(2);
    expect(of('lb.panic')[0]).toMatchObject({ target: 'lb', healthy_backends: 1, total_backends: 3 });
    expect(Object.fromEntries(await tally(lb.url, 9))).toEqual({ 'app-1': 3, 'app-2': 3, 'app-3': 3 });

    backends[0]!.health = 'ok';
    await waitFor(() => of('lb.panic_end').length === 1, 3000, 'panic end');
    const counts = await tally(lb.url, 10);
    expect(counts.get('app-2')).toBeUndefined();
  });
});

describe('startBalancer: slow start and passive ejection', () => {
  it('ramps a returning backend from a small share to a full one', async () => {
    const { lb, backends, of } = await setup(2, { slowStartMs: 1500 });
    backends[1]!.health = 'fail';
    await waitFor(() => of('lb.eject').length === 1, 3000, 'ejection');
    backends[1]!.health = 'ok';
    await waitFor(() => of('lb.return').length === 1, 3000, 'return');
    const early = await tally(lb.url, 20);
    const weight = lb.state()[1]?.weight ?? 1;
    expect(weight).toBeLessThan(0.6);
    // a share of w / (1 + w) with w ≈ 0.1–0.3 while the 20 requests run
    expect(early.get('app-2') ?? 0).toBeLessThanOrEqual(6);
    expect(early.get('app-2') ?? 0).toBeGreaterThanOrEqual(1);
    await sleep(1600);
    expect(lb.state()[1]?.weight).toBe(1);
    expect((await tally(lb.url, 20)).get('app-2')).toBe(10);
  });

  it('ejects on consecutive 5xx and returns when the ejection time elapses', async () => {
    const { lb, backends, of } = await setup(2, { passive: { consecutiveFailures: 3, ejectionMs: 1000 } });
    backends[0]!.status = 500;
    await tally(lb.url, 6); // app-1 gets 3 of them
    expect(of('lb.eject')).toHaveLength(1);
    expect(of('lb.eject')[0]).toMatchObject({
      target: 'app-1',
      reason: '3 consecutive 5xx',
      source: 'outlier',
    });
    expect((await tally(lb.url, 4)).get('app-2')).toBe(4);
    await waitFor(() => of('lb.return').length === 1, 2000, 'return');
    expect(of('lb.return')[0]).toMatchObject({
      target: 'app-1',
      reason: 'ejection of 1000ms elapsed',
      source: 'outlier',
    });
  });

  it('counts upstream timeouts toward passive ejection', async () => {
    const { lb, backends, of } = await setup(1, {
      passive: { consecutiveFailures: 2, ejectionMs: 10_000 },
      upstreamTimeoutMs: 50,
    });
    backends[0]!.delayMs = 1000;
    expect((await get(lb.url)).status).toBe(504);
    expect((await get(lb.url)).status).toBe(504);
    expect(of('lb.eject')[0]?.reason).toBe('2 consecutive failures (last: timeout after 50ms)');
    expect((await get(lb.url)).body).toBe(NO_HEALTHY_UPSTREAM);
  });
});

describe('startBalancer: admin port and shutdown', () => {
  it('serves Prometheus metrics with the state gauges, and /state as JSON', async () => {
    const { lb } = await setup(2);
    await tally(lb.url, 4);
    const res = await get(`http://127.0.0.1:${lb.adminPort}/metrics`);
    expect(res.status).toBe(200);
    const samples = new Map<string, number>();
    for (const line of res.body.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
      expect(match, line).not.toBeNull();
      samples.set(match![1]!, Number(match![2]));
    }
    expect(samples.get('lb_backend_healthy{backend="app-1"}')).toBe(1);
    expect(samples.get('lb_backend_healthy{backend="app-2"}')).toBe(1);
    expect(samples.get('lb_healthy_backends')).toBe(2);
    expect(samples.get('lb_panic_mode')).toBe(0);
    expect(samples.get('lb_requests_in_flight')).toBe(0);
    expect(samples.get('lb_requests_total{backend="app-1",code="200"}')).toBe(2);
    expect(samples.get('lb_request_duration_seconds_count{backend="app-2"}')).toBe(2);
    expect(samples.get('lb_ejections_total{backend="app-1",reason="health_check"}')).toBe(0);
    expect([...samples.keys()].some((k) => k.startsWith('lb_health_check_duration_seconds_count'))).toBe(
      true,
    );

    const state = JSON.parse((await get(`http://127.0.0.1:${lb.adminPort}/state`)).body) as {
      panic: boolean;
      backends: { id: string; healthy: boolean }[];
    };
    expect(state.panic).toBe(false);
    expect(state.backends.map((b) => [b.id, b.healthy])).toEqual([
      ['app-1', true],
      ['app-2', true],
    ]);
  });

  it('close frees both ports and leaves no connection open to the backends', async () => {
    const { lb, backends } = await setup(2, { healthCheck: { ...fast.healthCheck, timeoutMs: 5000 } });
    backends[0]!.health = 'hang'; // a probe in flight at close time
    for (const b of backends) b.delayMs = 5000; // and a proxied request in flight
    const pending = get(lb.url).catch(() => undefined);
    await waitFor(
      () => backends[0]!.openSockets() > 0 && backends.some((b) => b.hits > 0),
      2000,
      'a probe and a request in flight',
    );
    await lb.close();
    await pending;
    expect(await portIsFree(lb.port)).toBe(true);
    expect(await portIsFree(lb.adminPort)).toBe(true);
    await waitFor(() => backends.every((b) => b.openSockets() === 0), 2000, 'backend sockets closed');
    await lb.close(); // idempotent
  });
});
