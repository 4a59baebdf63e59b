/**
 * How far each signal moved in an incident: its level in the window (upper quartile when up is
 * bad, lower when down is bad) against its baseline before the onset, in robust σ, and when it
 * first moved. Direction-aware: a memory series that fell at the incident is not evidence of a
 * leak, and a join of two recordings that shifts everything both ways does not point anywhere.
 */
import type { SignalOnset } from './analysis-types.js';
import { detectChangePoint } from './change-point.js';
import { firstSplit } from './incident-windows.js';
import { baselineOf, quantileSorted, sortedFinite } from './robust-stats.js';
import { indexOf, type Signal, timeOf } from './signal.js';

function meanFinite(values: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** Whether the series has a gap in [from, to) after a measured value (the process went away). */
function brokeOff(values: ArrayLike<number>, from: number, to: number): boolean {
  for (let i = Math.max(1, from); i < to; i++)
    if (!Number.isFinite(values[i] as number) && Number.isFinite(values[i - 1] as number)) return true;
  return false;
}

/** Steps a level must hold (as the median of this many in a row) to count as held. */
const HELD_STEPS = 5;

/** The highest and lowest median of {@link HELD_STEPS} consecutive finite values in [from, to). */
function heldLevels(values: ArrayLike<number>, from: number, to: number): { max: number; min: number } {
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  const run = new Float64Array(HELD_STEPS);
  for (let i = from; i + HELD_STEPS <= to; i++) {
    let ok = true;
    for (let k = 0; k < HELD_STEPS && ok; k++) {
      const v = values[i + k] as number;
      ok = Number.isFinite(v);
      run[k] = v;
    }
    if (!ok) continue;
    run.sort();
    const m = run[HELD_STEPS >> 1] as number;
    if (m > max) max = m;
    if (m < min) min = m;
  }
  return { max, min };
}

/** Score one signal in the window [fromMs, toMs); undefined when it has no data on either side. */
export function scoreSignal(signal: Signal, fromMs: number, toMs: number): SignalOnset | undefined {
  const n = signal.values.length;
  const start = Math.max(0, indexOf(signal, fromMs));
  const end = Math.min(n, Math.max(start + 1, Math.ceil((toMs - signal.startMs) / signal.stepMs)));
  if (start < 2 || start >= n) return undefined;
  const base = baselineOf(signal.values, 0, start, signal.countData, signal.minScale ?? 0);
  if (base.count < 2) return undefined;
  const window = sortedFinite(signal.values, start, end);
  if (window.length === 0) return undefined;
  // Memory that grows until the process dies (out of memory) and restarts low is above its
  // baseline only in the few samples before the crash: for memory that broke off in the window
  // (the process stopped answering scrapes), the evidence is the peak. An instance that was down
  // (`up` = 0) for a few seconds of the window was down: the trough.
  let hiLevel =
    signal.kind === 'memory' && brokeOff(signal.values, start, end)
      ? (window[window.length - 1] as number)
      : quantileSorted(window, 0.75);
  let loLevel = signal.kind === 'availability' ? (window[0] as number) : quantileSorted(window, 0.25);
  // A short trigger in a long incident (ten slow seconds of a database, then a minute of retries)
  // holds only a fifth of the window: the level held for five steps in a row counts too.
  const held = heldLevels(signal.values, start, end);
  hiLevel = Math.max(hiLevel, held.max);
  loLevel = Math.min(loLevel, held.min);
  let up = (hiLevel - base.median) / base.scale;
  let down = (base.median - loLevel) / base.scale;
  if (signal.countData) {
    // Events are sparse: compare the window's total with what the baseline rate predicts (Poisson),
    // so that 20 errors from a service that logged none count even if most buckets hold none.
    const rate = meanFinite(signal.values, 0, start);
    let total = 0;
    for (const v of window) total += v;
    const expected = rate * window.length;
    hiLevel = total / window.length;
    loLevel = hiLevel;
    up = (total - expected) / Math.sqrt(Math.max(expected, 1));
    down = -up;
  }
  let direction: 'up' | 'down';
  let z: number;
  if (signal.bad === 'up') [direction, z] = ['up', up];
  else if (signal.bad === 'down') [direction, z] = ['down', down];
  else [direction, z] = up >= down ? ['up', up] : ['down', down];
  if (!(z > 0)) return undefined;
  const after = direction === 'up' ? hiLevel : loLevel;
  if (!signal.countData) {
    // A level the baseline itself reached now and then is routine, not evidence: discount by how
    // often the baseline was already as far out (spiky quantiles of few requests, periodic jobs).
    let seen = 0;
    for (let i = 0; i < start; i++) {
      const v = signal.values[i] as number;
      if (direction === 'up' ? v >= after : v <= after) seen++;
    }
    z /= 1 + seen;
  }
  const before = signal.countData ? meanFinite(signal.values, 0, start) : base.median;
  // When it first moved: a change point searched from a little before the window.
  const seg = n >= 60 ? 3 : 2;
  const cp = detectChangePoint(signal.values, {
    direction,
    countData: signal.countData,
    minScale: signal.minScale ?? 0,
    minSegment: seg,
    horizon: Math.max(seg, 5),
    threshold: 3,
    observations: signal.source === 'metric',
    from: firstSplit(signal.stepMs, Math.max(seg, start - 3), signal.source),
    to: end,
  });
  const halfway = before + 0.5 * (after - before);
  const beyond = (v: number) => (direction === 'up' ? v >= halfway : v <= halfway);
  // A move too short for a change point (an instance down for two scrapes, a burst of errors)
  // moved when it first got halfway there (and stayed a second step, when it ever did: a lone
  // routine spike before the real move is not it), not when the window opens.
  let onsetIdx = cp?.index ?? -1;
  const from = Math.max(0, start - 3);
  for (let i = from; i + 1 < end && onsetIdx < 0; i++)
    if (beyond(signal.values[i] as number) && beyond(signal.values[i + 1] as number)) onsetIdx = i;
  for (let i = from; i < end && onsetIdx < 0; i++) if (beyond(signal.values[i] as number)) onsetIdx = i;
  if (onsetIdx < 0) onsetIdx = start;
  let lastIdx = -1;
  for (let i = end - 1; i >= onsetIdx && lastIdx < 0; i--) {
    if (beyond(signal.values[i] as number)) lastIdx = i;
  }
  return {
    signalId: signal.id,
    service: signal.service,
    instance: signal.instance,
    source: signal.source,
    kind: signal.kind,
    name: signal.name,
    onsetMs: timeOf(signal, onsetIdx),
    ...(lastIdx < 0 ? {} : { lastMs: timeOf(signal, lastIdx) + signal.stepMs }),
    direction,
    z: Math.min(1000, z),
    before,
    after,
    stepMs: signal.stepMs,
    ...(signal.template === undefined ? {} : { template: signal.template }),
    ...(signal.caller === undefined ? {} : { caller: signal.caller }),
  };
}
