import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { incidentCharts } from '../report/incident-charts.js';
import { TelemetryStore } from '../store/telemetry-store.js';
import { tempFolder } from '../test-support/memory-sink.js';
import type { SignalOnset } from './analysis-types.js';
import { analyze, leadInstance, mergeSegments } from './analyze.js';
import { writeJoinedMetricsIncident, writeSlowDatabaseIncident } from './synthetic-incident.fixtures.js';

const NEZHA_CPU = new URL('../../../../../shared/data/nezha-trainticket-dev/2023-01-29_24', import.meta.url)
  .pathname;

let folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
beforeAll(() => {
  folders = [];
});
afterAll(async () => {
  for (const f of folders) await f.remove();
});
async function folder(): Promise<string> {
  const f = await tempFolder();
  folders.push(f);
  return f.dir;
}

describe('analyze on synthetic stores', () => {
  it('puts the slow callee first and its waiting callers after it, with onset and evidence', async () => {
    const { dir, onsetMs } = await writeSlowDatabaseIncident(await folder());
    const { store } = await investigate([dir]);
    try {
      const analysis = await analyze(store);
      const incident = analysis.incidents[0];
      expect(incident).toBeDefined();
      expect(Math.abs((incident?.onsetMs ?? 0) - onsetMs)).toBeLessThanOrEqual(5000);
      const causes = incident?.causes ?? [];
      expect(causes[0]?.service).toBe('db');
      expect(causes[0]?.score).toBeGreaterThan(causes[1]?.score ?? 0);
      expect(causes[0]?.evidence.length).toBeGreaterThan(0);
      expect(causes[0]?.logs.some((l) => l.message.includes('slow query'))).toBe(true);
      expect(incident?.dependencySource).toBe('traces');
      expect(incident?.dependencies.some((d) => d.caller === 'api' && d.callee === 'db')).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('a long recording bucketed coarsely is read again around its incident, which is dated to the second', async () => {
    // 12 h of one service's logs at 100 lines/s fit 4,000 buckets only at 15 s; errors start
    // 11 s into a 15 s bucket
    const T0 = 1_700_000_000_000;
    const truth = Math.floor((T0 + 6 * 3_600_000) / 15_000) * 15_000 + 11_000;
    const store = await TelemetryStore.open();
    try {
      await store.connection.run(`INSERT INTO logs SELECT ${T0} + i * 10.0, 'api', 'api-1', 'info',
        'request completed', 'T1', NULL, NULL, NULL, NULL, 1, NULL FROM range(0, 4320000) r(i)`);
      await store.connection.run(`INSERT INTO logs SELECT ${truth} + i * 33.0, 'api', 'api-1', 'error',
        'DB connection timeout', 'T2', NULL, NULL, NULL, NULL, 1, NULL FROM range(0, 5400) r(i)`);
      const analysis = await analyze(store);
      expect(analysis.stepMs.event).toBe(15_000);
      const incident = analysis.incidents[0];
      expect(incident?.causes[0]?.service).toBe('api');
      expect(Math.abs((incident?.onsetMs ?? 0) - truth)).toBeLessThanOrEqual(2000);
      const evidence = incident?.causes[0]?.evidence ?? [];
      expect(evidence.some((e) => e.stepMs < 15_000 && Math.abs(e.onsetMs - truth) <= 2000)).toBe(true);
      // the report charts it on the finer grid too
      const [charts] = await incidentCharts(store, analysis);
      expect(charts?.series.length).toBeGreaterThan(0);
      for (const series of charts?.series ?? []) expect(series.stepMs).toBeLessThan(15_000);
    } finally {
      await store.close();
    }
  });

  it('logs of two systems years apart are each read on their own grid: both incidents, each dated to seconds', async () => {
    // two hours of each system's logs at 20 lines/s, in 2015 and in 2020; each has an error surge
    const A0 = Date.UTC(2015, 2, 3, 8);
    const B0 = Date.UTC(2020, 6, 9, 14);
    const truthA = A0 + 80 * 60_000 + 7_000;
    const truthB = B0 + 50 * 60_000 + 3_000;
    const store = await TelemetryStore.open();
    try {
      for (const [t0, service, truth, message] of [
        [A0, 'web', truthA, 'upstream timed out'],
        [B0, 'db', truthB, 'deadlock detected'],
      ] as const) {
        await store.connection.run(`INSERT INTO logs SELECT ${t0} + i * 50.0, '${service}', NULL, 'info',
          'request completed', 'T1', NULL, NULL, NULL, NULL, 1, NULL FROM range(0, 144000) r(i)`);
        await store.connection.run(`INSERT INTO logs SELECT ${truth} + i * 100.0, '${service}', NULL, 'error',
          '${message}', 'T2-${service}', NULL, NULL, NULL, NULL, 1, NULL FROM range(0, 6000) r(i)`);
      }
      const analysis = await analyze(store);
      const byService = new Map(analysis.incidents.map((i) => [i.causes[0]?.service, i]));
      for (const [service, truth] of [
        ['web', truthA],
        ['db', truthB],
      ] as const) {
        const incident = byService.get(service);
        expect(incident, service).toBeDefined();
        expect(Math.abs((incident?.onsetMs ?? 0) - truth)).toBeLessThanOrEqual(5000);
      }
      expect(analysis.stepMs.event).toBeLessThanOrEqual(5000);
      // with `around`, only the range holding that time is read
      const around = await analyze(store, { aroundMs: truthA });
      expect(around.incidents[0]?.causes[0]?.service).toBe('web');
      expect(around.incidents.every((i) => i.causes[0]?.service !== 'db')).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('metrics only, two recordings joined: the service whose CPU rose wins, falls elsewhere do not count', async () => {
    const dir = await folder();
    const { joinMs } = await writeJoinedMetricsIncident(dir, 'payment');
    const { store } = await investigate([dir]);
    try {
      const analysis = await analyze(store);
      const incident = analysis.incidents[0];
      expect(Math.abs((incident?.onsetMs ?? 0) - joinMs)).toBeLessThanOrEqual(2000);
      expect(incident?.causes[0]?.service).toBe('payment');
      expect(incident?.causes[0]?.mechanism).toMatch(/CPU/);
      expect(analysis.stepMs.metric).toBe(1000);
    } finally {
      await store.close();
    }
  });

  it('with `around`, analyses the incident nearest that time', async () => {
    const { dir, onsetMs } = await writeSlowDatabaseIncident(await folder(), 3);
    const { store } = await investigate([dir]);
    try {
      const analysis = await analyze(store, { aroundMs: onsetMs + 30_000 });
      expect(Math.abs((analysis.incidents[0]?.onsetMs ?? 0) - onsetMs)).toBeLessThanOrEqual(5000);
    } finally {
      await store.close();
    }
  });
});

describe('analyze on a real incident (Nezha Train-Ticket, CPU contention)', () => {
  it.runIf(existsSync(NEZHA_CPU))(
    'ranks the true root cause in the top 3',
    async () => {
      const { store } = await investigate([NEZHA_CPU]);
      try {
        const analysis = await analyze(store);
        const top3 = analysis.incidents[0]?.causes.slice(0, 3).map((c) => c.service) ?? [];
        expect(top3).toContain('ts-contacts-service');
      } finally {
        await store.close();
      }
    },
    30_000,
  );
});

describe('leadInstance', () => {
  const T = 1_700_000_000_000;
  const ev = (instance: string | null, atS: number, z = 1000): SignalOnset => ({
    signalId: `pool ${instance} ${atS}`,
    service: 'app',
    instance,
    source: 'metric',
    kind: 'saturation',
    name: 'db_pool_waiting',
    onsetMs: T + atS * 1000,
    direction: 'up',
    z,
    before: 0,
    after: 10,
    stepMs: 1000,
  });

  it('names the instance whose strong evidence moved first, not the one that ended up furthest out', () => {
    // app-1 started it; its peers were dragged in seconds later and moved more.
    const evidence = [
      ev('app-1', 1, 240),
      ev('app-1', 1),
      ev('app-2', 1),
      ev('app-2', 8),
      ev('app-2', 9),
      ev('app-3', 1),
      ev('app-3', 9),
    ];
    expect(leadInstance(evidence)).toBe('app-1');
  });

  it("prefers an instance's own resources to the symptoms instances share (and the load's ramp)", () => {
    // at the load's start every pool fills a little; app-1's heap then grows before the others queue
    const evidence = [
      ev('app-2', 0, 20),
      ev('app-3', 0, 20),
      ev('app-1', 25),
      ev('app-2', 16),
      ev('app-3', 16),
      { ...ev('app-1', 8, 30), kind: 'memory' as const, name: 'process_resident_memory_bytes' },
    ];
    expect(leadInstance(evidence)).toBe('app-1');
    // without resource evidence, the earliest symptoms decide
    expect(leadInstance(evidence.slice(0, 5))).not.toBe('app-1');
  });

  it('breaks a tie on timing by the amount of evidence, and is null without instances', () => {
    expect(leadInstance([ev('a', 5, 20), ev('b', 5, 20), ev('b', 5, 30)])).toBe('b');
    expect(leadInstance([ev(null, 1)])).toBeNull();
  });
});

describe('mergeSegments', () => {
  it('keeps order, bounds and events; leaves at most 12 ranges, none under 500 events unless alone', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 86_400_000, max: 10 * 365 * 86_400_000 }),
            span: fc.integer({ min: 3_600_000, max: 30 * 86_400_000 }),
            events: fc.integer({ min: 1, max: 5000 }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (parts) => {
          let t = 0;
          const input = parts.map((p) => {
            const fromMs = t + p.gap;
            t = fromMs + p.span;
            return { fromMs, toMs: t, events: p.events };
          });
          const out = mergeSegments(input);
          expect(out.length).toBeGreaterThanOrEqual(1);
          expect(out.length).toBeLessThanOrEqual(12);
          expect(out[0]?.fromMs).toBe(input[0]?.fromMs);
          expect(out[out.length - 1]?.toMs).toBe(input[input.length - 1]?.toMs);
          expect(out.reduce((a, r) => a + r.events, 0)).toBe(input.reduce((a, r) => a + r.events, 0));
          for (let i = 0; i < out.length; i++) {
            const r = out[i] as { fromMs: number; toMs: number; events: number };
            expect(r.fromMs).toBeLessThan(r.toMs);
            if (i > 0) expect(r.fromMs).toBeGreaterThan((out[i - 1] as { toMs: number }).toMs);
            // every range is made of whole input ranges
            expect(input.some((x) => x.fromMs === r.fromMs)).toBe(true);
            expect(input.some((x) => x.toMs === r.toMs)).toBe(true);
            if (out.length > 1) expect(r.events).toBeGreaterThanOrEqual(500);
          }
        },
      ),
    );
  });

  it('joins a small range to its nearer neighbour, and keeps large ranges apart', () => {
    const day = 86_400_000;
    const out = mergeSegments([
      { fromMs: 0, toMs: day, events: 10_000 },
      { fromMs: 3 * day, toMs: 4 * day, events: 20 },
      { fromMs: 100 * day, toMs: 101 * day, events: 10_000 },
    ]);
    expect(out).toEqual([
      { fromMs: 0, toMs: 4 * day, events: 10_020 },
      { fromMs: 100 * day, toMs: 101 * day, events: 10_000 },
    ]);
  });
});
