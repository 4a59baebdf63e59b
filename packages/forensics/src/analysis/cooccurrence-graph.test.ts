import { afterAll, describe, expect, it } from 'vitest';
import { investigate } from '../investigate.js';
import { tempFolder } from '../test-support/memory-sink.js';
import type { SignalOnset } from './analysis-types.js';
import { analyze } from './analyze.js';
import { cooccurrenceEdges } from './cooccurrence-graph.js';
import { writeMetricsCascadeIncident } from './synthetic-incident.fixtures.js';

const T = 1_700_000_000_000;
const onset = (service: string, name: string, atS: number, z = 20, stepMs = 1000): SignalOnset => ({
  signalId: `${service} ${name}`,
  service,
  instance: null,
  source: 'metric',
  kind: 'latency',
  name,
  onsetMs: T + atS * 1000,
  direction: 'up',
  z,
  before: 1,
  after: 2,
  stepMs,
});

describe('cooccurrenceEdges', () => {
  it('draws the later service as the caller of the earlier, and drops the shortcut over a middle one', () => {
    const edges = cooccurrenceEdges([
      onset('db', 'cpu', 0),
      onset('db', 'latency', 1),
      onset('api', 'latency', 10),
      onset('api', 'errors', 11),
      onset('frontend', 'latency', 20),
      onset('frontend', 'errors', 21),
    ]);
    expect(edges.map((e) => `${e.caller}→${e.callee}`).sort()).toEqual(['api→db', 'frontend→api']);
    const api = edges.find((e) => e.caller === 'api');
    expect(api?.count).toBe(4);
    expect(api?.lagMs).toBe(10_000);
  });

  it('infers nothing from services that moved together (within the data resolution) or in no consistent order', () => {
    expect(cooccurrenceEdges([onset('a', 'x', 0, 20, 60_000), onset('b', 'x', 30, 20, 60_000)])).toEqual([]);
    expect(
      cooccurrenceEdges([onset('a', 'x', 0), onset('a', 'y', 30), onset('b', 'x', 10), onset('b', 'y', 20)]),
    ).toEqual([]);
  });

  it('ignores weak onsets and pairs further apart than the longest lag', () => {
    expect(
      cooccurrenceEdges([
        onset('a', 'x', 0, 4),
        onset('a', 'y', 1, 4),
        onset('b', 'x', 10),
        onset('b', 'y', 11),
      ]),
    ).toEqual([]);
    expect(
      cooccurrenceEdges([onset('a', 'x', 0), onset('a', 'y', 1), onset('b', 'x', 900), onset('b', 'y', 901)]),
    ).toEqual([]);
  });
});

describe('analyze without traces', () => {
  const folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
  afterAll(async () => {
    for (const f of folders) await f.remove();
  });

  it('draws the cascade from the order of onsets and says so', async () => {
    const f = await tempFolder();
    folders.push(f);
    await writeMetricsCascadeIncident(f.dir);
    const { store } = await investigate([f.dir]);
    try {
      const incident = (await analyze(store)).incidents[0];
      expect(incident?.causes[0]?.service).toBe('db');
      expect(incident?.dependencySource).toBe('co-occurrence');
      const edges = (incident?.dependencies ?? []).map((e) => `${e.caller}→${e.callee}`);
      expect(edges).toContain('api→db');
      expect(edges).toContain('frontend→api');
      expect(edges).not.toContain('frontend→db');
    } finally {
      await store.close();
    }
  });
});
