import { describe, expect, it } from 'vitest';
import type { Signal } from './signal.js';
import { scoreSignal } from './signal-scoring.js';

const T = 1_700_000_000_000;
const signal = (values: number[], extra: Partial<Signal> = {}): Signal => ({
  id: 'metric x',
  service: 'app',
  instance: 'app-1',
  source: 'metric',
  kind: 'latency',
  name: 'x',
  startMs: T,
  stepMs: 1000,
  values: Float64Array.from(values),
  bad: 'up',
  health: false,
  countData: false,
  ...extra,
});
// 40 s of baseline jitter around `level`, then the window
const base = (level: number) => Array.from({ length: 40 }, (_, i) => level + (i % 3) - 1);
const window = { from: T + 40_000, to: T + 100_000 };

describe('scoreSignal', () => {
  it('scores memory that broke off by its peak: a leak that ends in an out-of-memory restart is high only before the crash', () => {
    // it stops answering scrapes for two seconds while it restarts
    const heap = [...base(20), 60, 90, 125, Number.NaN, Number.NaN, ...Array(55).fill(22)];
    const memory = scoreSignal(signal(heap, { kind: 'memory' }), window.from, window.to);
    expect(memory?.after).toBe(125);
    expect(memory?.z).toBeGreaterThan(8);
    // a peak the baseline's own GC sawtooth reached now and then is routine
    const sawtooth = [...base(20).map((v, i) => (i % 8 === 7 ? 126 : v)), ...heap.slice(40)];
    expect(scoreSignal(signal(sawtooth, { kind: 'memory' }), window.from, window.to)?.z ?? 0).toBeLessThan(3);
    // without a break, a bulge of held requests is scored as any level is (held five steps)
    const bulge = [...base(20), 60, 90, 125, ...Array(57).fill(22)];
    expect(scoreSignal(signal(bulge, { kind: 'memory' }), window.from, window.to)?.after).toBe(60);
  });

  it('scores availability by its trough: an instance down for three scrapes was down', () => {
    const up = [...Array(40).fill(1), 1, 0, 0, 0, ...Array(56).fill(1)];
    const o = scoreSignal(signal(up, { kind: 'availability', bad: 'down' }), window.from, window.to);
    expect(o).toMatchObject({ direction: 'down', after: 0 });
    expect(o?.z).toBeGreaterThan(8);
  });

  it('times a move too short for a change point by when it got there, not by the window’s start', () => {
    // ejected for two scrapes, 20 s into the window
    const healthy = [...Array(60).fill(1), 0, 0, ...Array(38).fill(1)];
    const o = scoreSignal(signal(healthy, { kind: 'availability', bad: 'down' }), window.from, window.to);
    expect(o).toMatchObject({ direction: 'down', after: 0 });
    expect(o?.onsetMs).toBe(T + 60_000);
  });

  it('counts a short trigger held for a few steps in a long window, not a lone spike; and says when it ended', () => {
    const trigger = [...base(90), ...Array(10).fill(400), ...Array(50).fill(90)];
    const o = scoreSignal(signal(trigger), window.from, window.to);
    expect(o?.after).toBe(400);
    expect(o?.onsetMs).toBe(window.from);
    expect(o?.lastMs).toBe(window.from + 10_000);
    const spike = [...base(90), 400, ...Array(59).fill(90)];
    expect(scoreSignal(signal(spike), window.from, window.to)?.z ?? 0).toBeLessThan(3);
  });
});
