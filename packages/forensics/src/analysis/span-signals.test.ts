import { afterAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { TelemetryStore } from '../store/telemetry-store.js';
import { tempFolder } from '../test-support/memory-sink.js';
import {
  type Grid,
  groupStepMs,
  inProgress,
  longestRunning,
  type SpanRow,
  spanSignals,
} from './span-signals.js';
import { writeSlowDatabaseIncident } from './synthetic-incident.fixtures.js';

describe('longestRunning and inProgress', () => {
  const g: Grid = { startMs: 0, stepMs: 1000, buckets: Array.from({ length: 6 }, () => []) };
  const span = (t: number, d: number): SpanRow => ({ t, d, self: d, e: false, leaf: true });

  it('files a hanging call in every step it spans, with its whole duration', () => {
    const rows = [span(100, 90), span(1200, 80), span(1500, 2600)];
    expect(Array.from(longestRunning(g, rows))).toEqual([90, 2600, 2600, 2600, 2600, Number.NaN]);
  });

  it('counts runs in progress per step, zero where none ran', () => {
    const rows = [span(500, 2000), span(2100, 100)];
    expect(Array.from(inProgress(g, rows))).toEqual([1, 1, 2, 0, 0, 0]);
  });
});

describe('groupStepMs', () => {
  it('coarsens the grid of a sparse group until its buckets hold a few spans, never finer than the base', () => {
    expect(groupStepMs(40, 170_000, 2000)).toBe(30_000);
    expect(groupStepMs(10_000, 170_000, 2000)).toBe(2000);
    expect(groupStepMs(600, 600_000, 1000)).toBe(5000);
  });
});

describe('spanSignals', () => {
  const folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
  afterAll(async () => {
    for (const f of folders) await f.remove();
  });

  it('puts each service on a grid its traffic can fill, with errors as counts and timings floored at 1 ms', async () => {
    const f = await tempFolder();
    folders.push(f);
    await writeSlowDatabaseIncident(f.dir);
    const { store } = await investigate([f.dir]);
    try {
      const r = await store.query('SELECT min(start_ms) AS lo FROM spans');
      const lo = Math.floor(Number(r[0]?.lo) / 1000) * 1000;
      const signals = await spanSignals(store, lo, 1000, 600);
      const byId = new Map(signals.map((s) => [s.id, s]));
      // One request a second: 5 s buckets hold five.
      expect(byId.get('span db p95')?.stepMs).toBe(5000);
      expect(byId.get('span db errors')?.countData).toBe(true);
      expect(byId.get('span db p95')?.minScale).toBe(1);
      expect(byId.get('span gap api→db')?.caller).toBe('api');
      const p95 = byId.get('span db p95')?.values ?? new Float64Array();
      expect(p95[0]).toBeLessThan(10);
      expect(p95[p95.length - 2]).toBeGreaterThan(250);
    } finally {
      await store.close();
    }
  });

  it("files a span waiting for a pool as the pool's queue, not as the service's own time", async () => {
    // a request every 100 ms for 10 min: its pool acquisition takes 1 ms, then 2 s from minute 5
    const T0 = 1_700_000_000_000;
    const store = await TelemetryStore.open();
    try {
      await store.connection.run(`INSERT INTO spans
        SELECT 't' || i, 's' || i, NULL, 'api', 'api-1', 'GET /x', 'server', ${T0} + i * 100,
          CASE WHEN i >= 3000 THEN 2007 ELSE 8 END, 'unset', NULL, 1 FROM range(0, 6000) r(i)
        UNION ALL SELECT 't' || i, 'a' || i, 's' || i, 'api', 'api-1', 'pg.pool.acquire', 'internal', ${T0} + i * 100 + 1,
          CASE WHEN i >= 3000 THEN 2000 ELSE 1 END, 'unset', NULL, 1 FROM range(0, 6000) r(i)
        UNION ALL SELECT 't' || i, 'q' || i, 's' || i, 'api', 'api-1', 'pg.query', 'client',
          ${T0} + i * 100 + CASE WHEN i >= 3000 THEN 2001 ELSE 2 END, 5, 'unset', '{"peer.service":"postgres"}', 1
          FROM range(0, 6000) r(i)`);
      const signals = await spanSignals(store, T0, 1000, 600);
      const byId = new Map(signals.map((s) => [s.id, s]));
      const wait = byId.get('span api pool wait p90');
      expect(wait?.kind).toBe('saturation');
      expect(wait?.values[100]).toBeLessThan(5);
      expect(wait?.values[400]).toBeGreaterThanOrEqual(1900);
      // the request's own time, and that of the spans that call nobody, stay what they were
      for (const id of ['span api self p90', 'span api leaf self p90']) {
        const v = byId.get(id)?.values ?? new Float64Array();
        for (const x of v) if (Number.isFinite(x)) expect(x, id).toBeLessThan(50);
      }
    } finally {
      await store.close();
    }
  });
});
