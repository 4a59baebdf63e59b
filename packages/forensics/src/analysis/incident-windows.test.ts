import { describe, expect, it } from 'vitest';
import { findIncidents } from './incident-windows.js';
import type { Signal } from './signal.js';

const T = 1_700_000_000_000;
const step = (at: number, from: number, to: number, n = 600) =>
  Float64Array.from({ length: n }, (_, i) => (i >= at ? to : from) + ((i * 7919) % 13) / 100);
const signal = (id: string, service: string, values: Float64Array, extra: Partial<Signal> = {}): Signal => ({
  id,
  service,
  instance: null,
  source: 'metric',
  kind: 'latency',
  name: id.split(' ')[0] ?? id,
  startMs: T,
  stepMs: 1000,
  values,
  bad: 'up',
  health: true,
  countData: false,
  ...extra,
});

describe('findIncidents', () => {
  it("one host's metric filed under every pod on the host counts as one symptom, not ten", () => {
    const host = step(200, 10, 60);
    const copies = Array.from({ length: 10 }, (_, k) =>
      signal(`nodecpu @pod${k}`, `svc${k}`, host, { kind: 'cpu', health: false }),
    );
    // Three services whose latency rose, each its own series (different levels).
    const real = ['a', 'b', 'c'].map((s, k) => signal(`latency @${s}`, s, step(400, 10 + k, 60 + k)));
    const incidents = findIncidents([...copies, ...real]);
    expect(incidents[0]?.onsetMs).toBe(T + 400_000);
  });

  it('info-level log templates coming and going do not make an incident; error logs do', () => {
    const counts = (at: number) =>
      Float64Array.from({ length: 600 }, (_, i) => (i >= at && i < at + 30 ? 4 : i % 50 === 0 ? 1 : 0));
    const log = (id: string, name: string, values: Float64Array, kind: Signal['kind']): Signal =>
      signal(id, 'api', values, { source: 'log', kind, name, countData: true, health: kind === 'errors' });
    expect(findIncidents([log('t1', 'template T1', counts(300), 'log-template')])).toEqual([]);
    const errors = findIncidents([log('e', 'error logs', counts(300), 'errors')]);
    expect(errors[0]?.onsetMs).toBe(T + 300_000);
  });

  it('calls a change in metrics a few seconds into the data, but wants 30 s of baseline from spans and logs', () => {
    const early = step(12, 10, 60, 120);
    expect(findIncidents([signal('latency @m', 'm', early)])[0]?.onsetMs).toBe(T + 12_000);
    expect(findIncidents([signal('latency @s', 's', early, { source: 'span' })])).toEqual([]);
  });

  it('does not call the first seconds of a metric series: a service warming up as its load starts', () => {
    const warmUp = step(4, 10, 60, 120);
    expect(findIncidents([signal('latency @m', 'm', warmUp)])).toEqual([]);
    // counted from the series' own first point, not from the start of the data
    const late = Float64Array.from([...Array(30).fill(Number.NaN), ...step(4, 10, 60, 90)]);
    expect(findIncidents([signal('latency @m', 'm', late)])).toEqual([]);
  });

  it('dates the incident from the origin that moved one bucket before the bulk of its victims', () => {
    const half = (at: number, id: string, service: string) =>
      signal(id, service, step(at, 10, 60, 60), { stepMs: 30_000 });
    const signals = [
      half(16, 'latency @early', 'early'), // a strong blip three buckets before: not chained
      half(20, 'latency @origin', 'origin'),
      ...['a', 'b'].map((s) => half(21, `latency @${s}`, s)),
      ...['c', 'd', 'e', 'f'].map((s) => half(23, `latency @${s}`, s)),
    ];
    const [incident] = findIncidents(signals);
    expect(incident?.evidenceFromMs).toBe(T + 21 * 30_000);
    expect(incident?.onsetMs).toBe(T + 20 * 30_000);
    expect(incident?.fromMs).toBe(incident?.onsetMs);
  });

  it('a bunch whose chain of departures reaches back to an earlier incident is that incident, not a second one', () => {
    const half = (at: number, id: string, service: string) =>
      signal(id, service, step(at, 10, 60, 60), { stepMs: 30_000 });
    const signals = [
      ...['a', 'b', 'c', 'd', 'e'].map((s) => half(20, `latency @${s}`, s)),
      ...[21, 22, 23, 24, 25, 26].map((at) => half(at, `latency @chain${at}`, `chain${at}`)),
      ...['f', 'g', 'h', 'i'].map((s) => half(27, `latency @${s}`, s)),
    ];
    const incidents = findIncidents(signals);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]?.onsetMs).toBe(T + 20 * 30_000);
  });

  it('a lone blip shortly before the bunch (one symptom, nothing following it) does not date the incident', () => {
    // p50 and p95 of one endpoint of one service twitch 24 s before the system moves
    const blip = ['p50', 'p95'].map((q) => signal(`${q} latency @live`, 'live', step(200, 10, 60)));
    const bunch = ['a', 'b', 'c', 'd', 'e', 'f'].map((s, k) =>
      signal(`latency @${s}`, s, step(224 + (k % 3), 10, 60)),
    );
    const [incident] = findIncidents([...blip, ...bunch]);
    expect(incident?.onsetMs).toBe(T + 224_000);
  });
});
