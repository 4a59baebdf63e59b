/**
 * Robust statistics for baselines: medians and MAD resist the outliers that incidents are made of,
 * where means and standard deviations would be dragged by the very anomaly we look for.
 */

/** Finite values of `values[from, to)`, sorted ascending. */
export function sortedFinite(values: ArrayLike<number>, from = 0, to = values.length): Float64Array {
  const out: number[] = [];
  for (let i = Math.max(0, from); i < Math.min(to, values.length); i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) out.push(v);
  }
  return Float64Array.from(out).sort();
}

/** The q-quantile (0…1, linear interpolation) of sorted values; NaN when empty. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = Math.min(1, Math.max(0, q)) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Median of sorted values. */
export function medianSorted(sorted: ArrayLike<number>): number {
  return quantileSorted(sorted, 0.5);
}

/** Median absolute deviation of sorted values around `median`, scaled to σ for normal data (×1.4826). */
export function madSorted(sorted: ArrayLike<number>, median: number): number {
  const dev = new Float64Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) dev[i] = Math.abs((sorted[i] as number) - median);
  dev.sort();
  return 1.4826 * medianSorted(dev);
}

/** Location and spread of a baseline. */
export interface Baseline {
  readonly median: number;
  /** Robust σ (MAD, with IQR and floors as fallbacks); always > 0. */
  readonly scale: number;
  readonly count: number;
}

/**
 * A baseline's median and a scale that is never zero: a flat baseline (a counter that never moved,
 * a template never seen) must still let a real change stand out without dividing by zero.
 * `countData` adds a Poisson floor (√median) for event counts; `minScale` is the measurement's own
 * resolution (1 ms for span timings), below which a shift is jitter, not a change.
 */
export function baselineOf(
  values: ArrayLike<number>,
  from = 0,
  to = values.length,
  countData = false,
  minScale = 0,
): Baseline {
  const sorted = sortedFinite(values, from, to);
  const median = medianSorted(sorted);
  if (sorted.length === 0) return { median: Number.NaN, scale: 1, count: 0 };
  const mad = madSorted(sorted, median);
  const iqr = (quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25)) / 1.349;
  // A spiky series (a latency quantile over few requests) has a small MAD but wide tails: the
  // 10–90 % range keeps its routine spikes from reading as incidents.
  const tails = (quantileSorted(sorted, 0.9) - quantileSorted(sorted, 0.1)) / 2.563;
  let scale = Math.max(mad, iqr, tails);
  const floor = countData
    ? Math.max(1, Math.sqrt(Math.abs(median)))
    : Math.max(Math.abs(median) * 0.02, 1e-9);
  if (!(scale > floor)) scale = Math.max(scale, floor);
  if (scale < minScale) scale = minScale;
  return { median, scale, count: sorted.length };
}
