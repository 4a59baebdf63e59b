import { afterAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
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
});
