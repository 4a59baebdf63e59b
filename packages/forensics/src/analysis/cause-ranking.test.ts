import { describe, expect, it } from 'vitest';
import type { SignalOnset } from './analysis-types.js';
import { evidenceWeight, fileGapsAtCommonEndpoint, rankServices } from './cause-ranking.js';

const T = 1_700_000_000_000;
type Extra = Partial<Omit<SignalOnset, 'service' | 'name'>>;
const ev = (service: string, name: string, extra: Extra = {}): SignalOnset => ({
  signalId: `${extra.source ?? 'span'} ${service} ${name}`,
  service,
  instance: null,
  source: 'span',
  kind: 'latency',
  name,
  onsetMs: T,
  direction: 'up',
  z: 20,
  before: 10,
  after: 20,
  stepMs: 2000,
  ...extra,
});

describe('evidenceWeight', () => {
  it('a new error template outweighs an info template that surged as much', () => {
    const error = ev('a', 'error template T1', { kind: 'log-template', source: 'log' });
    const info = ev('a', 'template T2', { kind: 'log-template', source: 'log' });
    expect(evidenceWeight(error)).toBeGreaterThan(2 * evidenceWeight(info));
  });

  it("a pre-aggregated latency quantile weighs less when the service's spans are at hand, and client-side latency less still", () => {
    const p99 = ev('a', 'server_latency_p99', { source: 'metric' });
    const client = ev('a', 'client_latency_p99', { source: 'metric' });
    const traced = new Set(['a']);
    expect(evidenceWeight(p99, traced)).toBeCloseTo(evidenceWeight(p99) / 2);
    expect(evidenceWeight(client, traced)).toBeCloseTo(evidenceWeight(p99) / 4);
  });
});

describe('fileGapsAtCommonEndpoint', () => {
  it('files delayed paths under the service they share, caller or callee', () => {
    const gap = (caller: string, callee: string) =>
      ev(callee, `wait around calls ${caller}→${callee} p90`, { kind: 'self-time', caller });
    const filed = fileGapsAtCommonEndpoint([
      gap('web', 'basic'),
      gap('travel', 'basic'),
      gap('basic', 'station'),
      gap('basic', 'route'),
    ]);
    expect(filed.map((o) => o.service)).toEqual(['basic', 'basic', 'basic', 'basic']);
    // One delayed path: the callee, as before.
    expect(fileGapsAtCommonEndpoint([gap('web', 'api')])[0]?.service).toBe('api');
  });
});

describe('rankServices', () => {
  it('a callee that slowed only after the caller’s own heap and GC moved explains none of the caller’s queueing', () => {
    const deps = [{ caller: 'app', callee: 'db' }];
    const m = (name: string, kind: SignalOnset['kind'], at: number, z = 14): SignalOnset =>
      ev('app', name, { source: 'metric', kind, z, before: 0, after: 100, onsetMs: at, stepMs: 1000 });
    const app = [
      m('nodejs_heap_used_bytes', 'memory', T),
      m('nodejs_gc_duration_seconds', 'gc', T),
      m('db_pool_waiting', 'saturation', T + 7000, 1000),
    ];
    // the database looks slower two seconds later: the stalled caller's queries, and its peers' load
    const db = [ev('db', 'p95 latency', { z: 16, before: 109, after: 181, onsetMs: T + 2000, stepMs: 1000 })];
    const ranked = rankServices([...app, ...db], deps);
    expect(ranked[0]?.service).toBe('app');
    expect(ranked[0]?.explainedBy).toBeNull();
    // the same database slowing first explains the pool that filled behind it
    const first = rankServices([...app.map((o) => ({ ...o, onsetMs: o.onsetMs + 5000 })), ...db], deps);
    expect(first.find((r) => r.service === 'app')?.explainedBy).toBe('db');
  });

  it('a caller whose breaker opened, rejected and served fallbacks does not outrank the dependency that failed', () => {
    const deps = [{ caller: 'app', callee: 'db' }];
    const m = (name: string, kind: SignalOnset['kind'], at = T + 1000): SignalOnset =>
      ev('app', name, { source: 'metric', kind, z: 1000, before: 0, after: 40, onsetMs: at, stepMs: 1000 });
    const defences = [
      m('faultline_rejections_total{policy=circuit-breaker,name=orders-db,code=FL_CIRCUIT_OPEN}', 'errors'),
      m('faultline_breaker_state{name=orders-db,state=open}', 'other'),
      m('faultline_breaker_state{name=orders-db,state=half-open}', 'other', T + 9000),
      m('faultline_fallbacks_total{policy=fallback}', 'other'),
    ];
    const db = [
      ev('db', 'span errors', { kind: 'errors', z: 12, before: 0, after: 0.3 }),
      ev('db', 'calls app→db longest running', { z: 40, before: 100, after: 1000, caller: 'app' }),
    ];
    const ranked = rankServices([...defences, ...db], deps);
    expect(ranked[0]?.service).toBe('db');
    expect(ranked.find((r) => r.service === 'app')?.explainedBy).toBe('db');
    // without a dependency that moved first, a defence is still weak evidence against its service
    expect(evidenceWeight(defences[1] as SignalOnset)).toBeCloseTo(
      evidenceWeight({ ...(defences[1] as SignalOnset), name: 'process_open_fds' }) / 4,
    );
  });

  it("a caller's pool that gave up waiting (acquire timeouts) a second after the database slowed is a defence, not the cause", () => {
    const deps = [{ caller: 'app', callee: 'db' }];
    const rejections = (instance: string, at: number): SignalOnset =>
      ev(
        'app',
        `faultline_rejections_total{policy=pg-pool-guard,name=main,code=FL_POOL_ACQUIRE_TIMEOUT,instance=${instance}}`,
        {
          instance,
          source: 'metric',
          kind: 'errors',
          z: 1000,
          before: 0,
          after: 8,
          onsetMs: at,
          stepMs: 1000,
        },
      );
    const app = [rejections('app-1', T + 1000), rejections('app-2', T + 2000), rejections('app-3', T + 5000)];
    const db = [
      ev('db', 'self time p90', { kind: 'self-time', z: 35, before: 114, after: 656 }),
      ev('db', 'calls app→db p95', { z: 25, before: 118, after: 674, caller: 'app' }),
    ];
    const ranked = rankServices([...app, ...db], deps);
    expect(ranked[0]?.service).toBe('db');
  });

  it('a caller whose defences engaged after a callee slowed by less than a second: its failures timed out on the callee', () => {
    const deps = [{ caller: 'app', callee: 'db' }];
    const metric = (name: string, kind: SignalOnset['kind'], at: number, z = 1000): SignalOnset =>
      ev('app', name, { source: 'metric', kind, z, before: 0, after: 8, onsetMs: at, stepMs: 1000 });
    const app = [
      metric(
        'faultline_rejections_total{policy=pg-pool-guard,code=FL_POOL_ACQUIRE_TIMEOUT}',
        'errors',
        T + 1000,
      ),
      // a refresh job that failed on the slow database, and the callers' own time around it
      metric('background_job_failures_total{job=refresh-top-products}', 'errors', T + 14_000),
      ev('app', 'self time p90 (spans without outgoing calls)', {
        kind: 'self-time',
        z: 120,
        onsetMs: T + 9000,
      }),
      ev('app', 'p95 latency', { z: 18, before: 234, after: 861, onsetMs: T }),
    ];
    const db = [
      ev('db', 'self time p90', { kind: 'self-time', z: 35, before: 114, after: 656 }),
      ev('db', 'p50 latency', { z: 91, before: 97, after: 602, source: 'span' }),
      ev('db', 'calls app→db p95', { z: 25, before: 118, after: 674, caller: 'app', source: 'span' }),
    ];
    const ranked = rankServices([...app, ...db], deps);
    expect(ranked[0]?.service).toBe('db');
    expect(ranked.find((r) => r.service === 'app')?.explainedBy).toBe('db');
    // without a defence of its own, 500 ms more in the database does not account for the job's failure
    const undefended = rankServices([...app.slice(1), ...db], deps);
    expect(undefended.find((r) => r.service === 'app')?.score).toBeGreaterThan(
      ranked.find((r) => r.service === 'app')?.score ?? 0,
    );
  });

  it('a queue at the edge is explained by a service further down that moved first, even when those between moved later', () => {
    // client → lb → app → db: a locked table; the client's requests in flight pile up at once,
    // the load balancer's health checks fail only later
    const deps = [
      { caller: 'client', callee: 'lb' },
      { caller: 'lb', callee: 'app' },
      { caller: 'app', callee: 'db' },
    ];
    const at = (s: number) => T + s * 1000;
    const onsets = [
      ev('db', 'calls app→db longest running', {
        caller: 'app',
        z: 1000,
        before: 100,
        after: 15000,
        onsetMs: at(0),
        stepMs: 1000,
      }),
      ev('app', 'db_pool_waiting', {
        source: 'metric',
        kind: 'saturation',
        z: 1000,
        before: 0,
        after: 900,
        onsetMs: at(1),
        stepMs: 1000,
      }),
      ev('app', 'p95 latency', { z: 72, before: 232, after: 5000, onsetMs: at(1), stepMs: 1000 }),
      ev('lb', 'lb_health_check_failures_total', {
        source: 'metric',
        kind: 'errors',
        z: 1000,
        before: 0,
        after: 1,
        onsetMs: at(6),
        stepMs: 1000,
      }),
      ev('client', 'client_in_flight', {
        source: 'metric',
        kind: 'saturation',
        z: 64,
        before: 25,
        after: 472,
        onsetMs: at(1),
        stepMs: 1000,
      }),
    ];
    const ranked = rankServices(onsets, deps);
    expect(ranked[0]?.service).toBe('db');
    const score = (s: string) => ranked.find((r) => r.service === s)?.score ?? Number.NaN;
    expect(score('client')).toBeLessThan(0.25 * score('db'));
  });

  it('what a caller did once a callee it needs had failed (its backlog, its cache) is that failure’s', () => {
    // the database unreachable for 6 s: afterwards the apps work through the backlog
    const deps = [{ caller: 'app', callee: 'db' }];
    const onsets = [
      ev('db', 'span errors', { kind: 'errors', z: 11, before: 0, after: 0.35, onsetMs: T, stepMs: 1000 }),
      ev('app', 'self time p90', {
        kind: 'self-time',
        z: 15,
        before: 2,
        after: 30,
        onsetMs: T + 7000,
        stepMs: 1000,
      }),
      ev('app', 'cache_operations_total{result=hit}', {
        source: 'metric',
        kind: 'other',
        z: 20,
        before: 40,
        after: 90,
        onsetMs: T + 1000,
        stepMs: 1000,
      }),
    ];
    const ranked = rankServices(onsets, deps);
    expect(ranked[0]?.service).toBe('db');
    expect(ranked.find((r) => r.service === 'app')?.explainedBy).toBe('db');
  });

  it("a callee explains a caller's slowness only as far as its own added latency reaches", () => {
    const deps = [{ caller: 'api', callee: 'db' }];
    const api = ev('api', 'p95 latency', { before: 40, after: 190, z: 40 });
    const slightlySlowDb = ev('db', 'p95 latency', { before: 3, after: 8, z: 60 });
    const slowDb = ev('db', 'p95 latency', { before: 3, after: 180, z: 60 });
    const byTiny = rankServices([api, slightlySlowDb], deps);
    const byBig = rankServices([api, slowDb], deps);
    const score = (r: ReturnType<typeof rankServices>, s: string) =>
      r.find((x) => x.service === s)?.score ?? 0;
    expect(score(byTiny, 'api')).toBeGreaterThan(3 * score(byBig, 'api'));
    expect(byBig[0]?.service).toBe('db');
    expect(byBig.find((x) => x.service === 'api')?.explainedBy).toBe('db');
  });

  it('evidence a callee explained does not count as an independent source agreeing', () => {
    const deps = [{ caller: 'api', callee: 'db' }];
    const db = [ev('db', 'p95 latency', { before: 3, after: 300, z: 100 })];
    const apiOwn = ev('api', 'error template T1', { kind: 'log-template', source: 'log', z: 10 });
    const apiSlow = ev('api', 'latency_p95', { source: 'metric', z: 100, before: 0.01, after: 0.3 });
    const withSlow = rankServices([...db, apiOwn, apiSlow], deps).find((x) => x.service === 'api');
    const without = rankServices([...db, apiOwn], deps).find((x) => x.service === 'api');
    // The unexplained fifth of the slowness adds to the score; the metric source does not multiply it.
    expect(withSlow?.score).toBeCloseTo((without?.score ?? 0) + 0.2 * evidenceWeight(apiSlow), 6);
  });

  it('a caller queued behind a saturated pool is explained by the callee that slowed first, its failures too', () => {
    const deps = [{ caller: 'app', callee: 'postgres' }];
    // the database as its callers see it: slower calls, 2 s before the app moved
    const slow = { before: 100, after: 600, z: 60, onsetMs: T - 2000 };
    const db = [
      ev('postgres', 'p95 latency', slow),
      ev('postgres', 'self time p90', { ...slow, kind: 'self-time' }),
      ev('postgres', 'calls app→postgres p95', { ...slow, caller: 'app' }),
    ];
    // the app's own time grows ten times more than the database's: queueing for a connection
    const own = ev('app', 'self time p90', { kind: 'self-time', before: 50, after: 9000, z: 100 });
    const failures = ev('app', 'span errors', {
      kind: 'errors',
      before: 0,
      after: 17,
      z: 900,
      onsetMs: T + 30_000,
    });
    const pool = ev('app', 'db_pool_waiting', {
      kind: 'saturation',
      source: 'metric',
      before: 0,
      after: 400,
      z: 1000,
      onsetMs: T + 10_000,
    });
    const score = (r: ReturnType<typeof rankServices>, s: string) =>
      r.find((x) => x.service === s)?.score ?? 0;
    const queued = rankServices([...db, own, failures, pool], deps);
    const notQueued = rankServices([...db, own, failures], deps);
    expect(queued[0]?.service).toBe('postgres');
    expect(queued.find((x) => x.service === 'app')?.explainedBy).toBe('postgres');
    // without the saturated pool, 500 ms more in the database does not account for 9 s of own time
    // nor for the failures
    expect(score(notQueued, 'app')).toBeGreaterThan(score(queued, 'app'));
    expect(notQueued[0]?.service).toBe('app');
  });

  it("a callee that slowed by seconds first explains its callers' later failures (timeouts), a slightly slower one does not", () => {
    const deps = [{ caller: 'app', callee: 'pricing' }];
    const failures = ev('app', 'span errors', {
      kind: 'errors',
      before: 0,
      after: 25,
      z: 1000,
      onsetMs: T + 20_000,
    });
    const hung = ev('pricing', 'p95 latency', { before: 30, after: 30_000, z: 1000 });
    const slower = ev('pricing', 'p95 latency', { before: 30, after: 300, z: 1000 });
    const byHung = rankServices([hung, failures], deps);
    const bySlower = rankServices([slower, failures], deps);
    const app = (r: ReturnType<typeof rankServices>) => r.find((x) => x.service === 'app')?.score ?? 0;
    expect(byHung[0]?.service).toBe('pricing');
    expect(app(byHung)).toBeLessThan(0.5 * app(bySlower));
  });

  describe('queued in the same step as the callee slowed (a pool of 10 fills within a second)', () => {
    const deps = [{ caller: 'app', callee: 'postgres' }];
    const db = ev('postgres', 'calls app→postgres longest running', {
      caller: 'app',
      before: 100,
      after: 15_000,
      z: 1000,
    });
    const waiting = ev('app', 'db_pool_waiting', {
      kind: 'saturation',
      source: 'metric',
      after: 300,
      z: 1000,
    });
    const errors = ev('app', 'span errors', { kind: 'errors', before: 0, after: 20, z: 900 });
    const latency = ev('app', 'p95 latency', { before: 120, after: 9000, z: 400 });
    const jobs = ev('app', 'cache_operations_total', {
      kind: 'other',
      source: 'metric',
      z: 70,
      onsetMs: T + 1000,
    });
    const app = (r: ReturnType<typeof rankServices>) => r.find((x) => x.service === 'app');

    it('puts all of the caller’s queueing, slowness and failures on the callee', () => {
      const ranked = rankServices([db, waiting, errors, latency, jobs], deps);
      expect(ranked[0]?.service).toBe('postgres');
      expect(app(ranked)?.explainedBy).toBe('postgres');
      expect(app(ranked)?.score ?? 1).toBeLessThan(0.05 * (ranked[0]?.score ?? 0));
    });

    it('not when the caller’s own memory moved first: a stalled process makes its calls look slow', () => {
      const heap = ev('app', 'nodejs_heap_used_bytes', {
        kind: 'memory',
        source: 'metric',
        z: 14,
        onsetMs: T - 4000,
      });
      const ranked = rankServices([db, waiting, errors, latency, jobs, heap], deps);
      expect(ranked[0]?.service).toBe('app');
    });
  });

  it('a callee slowed by a batch job its caller started first is the job’s victim, not the cause', () => {
    const deps = [{ caller: 'app', callee: 'postgres' }];
    const db = [
      ev('postgres', 'p95 latency', { before: 90, after: 1100, z: 380 }),
      ev('postgres', 'self time p90', { kind: 'self-time', before: 90, after: 1100, z: 370 }),
    ];
    const waiting = ev('app', 'db_pool_waiting', {
      kind: 'saturation',
      source: 'metric',
      after: 90,
      z: 1000,
    });
    const latency = ev('app', 'p95 latency', { before: 120, after: 4000, z: 200 });
    const job = (onsetMs: number, before = 0) =>
      ev('app', 'background job nightly-report in progress', {
        kind: 'other',
        before,
        after: 3,
        z: 22,
        onsetMs,
      });
    const started = rankServices([...db, waiting, latency, job(T)], deps);
    expect(started[0]?.service).toBe('app');
    expect(started.find((x) => x.service === 'postgres')?.explainedBy).toBe('app');
    // a job that started after the database slowed, or a routine job that got stuck, is a victim
    expect(rankServices([...db, waiting, latency, job(T + 3000)], deps)[0]?.service).toBe('postgres');
    expect(rankServices([...db, waiting, latency, job(T, 1)], deps)[0]?.service).toBe('postgres');
  });
});
