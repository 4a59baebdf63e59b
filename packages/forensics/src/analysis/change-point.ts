/**
 * Change-point detection for one signal at its own resolution: when did it first leave its
 * baseline, in which direction, and how far (in robust σ of the baseline). A split is scored by
 * comparing the baseline before it (median/MAD) with the first `horizon` points after it; the
 * after-level is the smaller (towards the baseline) of their median and mean, so that a lone
 * spike (median unmoved) and a slow drift (mean unmoved at the true step) both score low, and a
 * noise-free step is found at its exact index.
 */
import { baselineOf } from './robust-stats.js';

export type Direction = 'up' | 'down' | 'both';

export interface ChangePointOptions {
  /** Which way counts as a change: `up` for latency or errors, `down` for success rate. Default `both`. */
  readonly direction?: Direction;
  /** Fewest points on either side of a split; default 3. */
  readonly minSegment?: number;
  /** Points after the split compared with the baseline; default 5. */
  readonly horizon?: number;
  /** Smallest shift, in baseline σ, reported as a change; default 4. */
  readonly threshold?: number;
  /** Only consider splits in [from, to) (indices); the baseline still uses every point before. */
  readonly from?: number;
  readonly to?: number;
  /** Event counts: the baseline's σ is at least √median (Poisson). */
  readonly countData?: boolean;
  /** The measurement's resolution: the baseline's σ is at least this. */
  readonly minScale?: number;
  /**
   * `horizon` counts observations, gaps (NaN) skipped, rather than points: for a series whose
   * gaps mean that nothing happened (a metric's mean GC pause, defined only where a collection
   * ran), so that one long pause among empty seconds reads as the lone spike it is. Span and log
   * buckets need not: their step is already sized to the service's traffic.
   */
  readonly observations?: boolean;
}

export interface ChangePoint {
  /** Index of the first point after the change. */
  readonly index: number;
  readonly direction: 'up' | 'down';
  /** Shift in baseline σ (positive). */
  readonly score: number;
  readonly before: number;
  readonly after: number;
}

/** The level of the points in [from, to), gaps skipped, or of the first `count` observations from `from` on. */
function afterLevel(
  values: ArrayLike<number>,
  from: number,
  to: number,
  count: number,
  up: boolean,
): number | undefined {
  const xs: number[] = [];
  let sum = 0;
  for (let i = from; i < to && xs.length < count; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      xs.push(v);
      sum += v;
    }
  }
  if (xs.length === 0) return undefined;
  xs.sort((a, b) => a - b);
  const mid = xs.length >> 1;
  const median =
    xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
  const mean = sum / xs.length;
  return up ? Math.min(median, mean) : Math.max(median, mean);
}

/**
 * The strongest change in `values`, or undefined when none reaches the threshold.
 * @example detectChangePoint([1, 1, 1, 1, 9, 9, 9, 9], { direction: 'up' })?.index // 4
 */
export function detectChangePoint(
  values: ArrayLike<number>,
  options: ChangePointOptions = {},
): ChangePoint | undefined {
  const n = values.length;
  const minSeg = Math.max(1, options.minSegment ?? 3);
  const horizon = Math.max(minSeg, options.horizon ?? 5);
  const threshold = options.threshold ?? 4;
  const direction = options.direction ?? 'both';
  const observations = options.observations === true;
  const lo = Math.max(minSeg, options.from ?? 0);
  const hi = Math.min(n - minSeg + 1, options.to ?? n);
  // Long series: test every `stride`-th split, then refine around the best.
  const stride = Math.max(1, Math.floor((hi - lo) / 400));
  let best: ChangePoint | undefined;
  // Event counts are sparse (most buckets hold none): a median says nothing about them. Compare
  // the events after a split with what the baseline's rate predicts (a Poisson test), as the
  // window scoring does.
  const sums = new Float64Array(n + 1);
  const finite = new Float64Array(n + 1);
  if (options.countData === true)
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      sums[i + 1] = (sums[i] as number) + (Number.isFinite(v) ? v : 0);
      finite[i + 1] = (finite[i] as number) + (Number.isFinite(v) ? 1 : 0);
    }
  const countScore = (k: number): ChangePoint | undefined => {
    const nb = finite[k] as number;
    if (nb < minSeg) return undefined;
    const end = Math.min(n, k + horizon);
    const m = (finite[end] as number) - (finite[k] as number);
    if (m === 0) return undefined;
    const rate = (sums[k] as number) / nb;
    const total = (sums[end] as number) - (sums[k] as number);
    const expected = rate * m;
    const z = (total - expected) / Math.sqrt(Math.max(expected, 1));
    const after = total / m;
    if (direction !== 'down' && z > 0) return { index: k, direction: 'up', score: z, before: rate, after };
    if (direction !== 'up' && z < 0) return { index: k, direction: 'down', score: -z, before: rate, after };
    return undefined;
  };
  const score = (k: number): ChangePoint | undefined => {
    if (options.countData === true) return countScore(k);
    const base = baselineOf(values, 0, k, false, options.minScale ?? 0);
    if (base.count < minSeg) return undefined;
    // counting observations, a split starts at one: on a gap, the next observed point is its own
    if (observations && !Number.isFinite(values[k] as number)) return undefined;
    const end = observations ? n : Math.min(n, k + horizon);
    const count = observations ? horizon : n;
    let top: ChangePoint | undefined;
    if (direction !== 'down') {
      const a = afterLevel(values, k, end, count, true);
      if (a !== undefined) {
        const z = (a - base.median) / base.scale;
        if (z > 0) top = { index: k, direction: 'up', score: z, before: base.median, after: a };
      }
    }
    if (direction !== 'up') {
      const a = afterLevel(values, k, end, count, false);
      if (a !== undefined) {
        const z = (base.median - a) / base.scale;
        if (z > 0 && (top === undefined || z > top.score))
          top = { index: k, direction: 'down', score: z, before: base.median, after: a };
      }
    }
    return top;
  };
  for (let k = lo; k < hi; k += stride) {
    const c = score(k);
    if (c !== undefined && (best === undefined || c.score > best.score * (1 + 1e-9))) best = c;
  }
  if (best !== undefined && stride > 1) {
    for (let k = Math.max(lo, best.index - stride + 1); k < Math.min(hi, best.index + stride); k++) {
      const c = score(k);
      if (c !== undefined && c.score > best.score * (1 + 1e-9)) best = c;
    }
  }
  if (best === undefined || best.score < threshold) return undefined;
  if (options.countData === true) {
    // Splits before the first burst bucket score alike: the change starts at that bucket.
    const b = best;
    let index = b.index;
    const past = (v: number) => (b.direction === 'up' ? v > b.before : v < b.before);
    while (index + 1 < Math.min(n, b.index + horizon) && !past(values[index] as number)) index++;
    return { ...b, index };
  }
  // The onset is the first point of the run that already left the baseline (a ramp starts early),
  // clearly (10 σ) or by a tenth of the shift: on a very flat baseline, jitter alone is a few σ.
  const base = baselineOf(values, 0, best.index, options.countData ?? false, options.minScale ?? 0);
  const floor = 0.1 * Math.abs(best.after - base.median);
  const out = (i: number) => {
    const v = values[i] as number;
    const shift = best.direction === 'up' ? v - base.median : base.median - v;
    const z = shift / base.scale;
    return z >= threshold && (shift >= floor || z >= 10);
  };
  let index = best.index;
  // a split can land one step early when that step's value widens the baseline's spread: the
  // change starts at the first point that is out
  while (index + 1 < Math.min(n, best.index + horizon) && !out(index)) index++;
  while (index - 1 >= lo && out(index - 1)) index--;
  return { ...best, index };
}
