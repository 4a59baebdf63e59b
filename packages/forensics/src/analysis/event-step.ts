/**
 * The bucket width for signals built from events (spans, log lines). Events have no native
 * resolution, so pick the finest width that still puts enough events in a bucket for a rate or a
 * quantile to mean something: 1 s on a busy system, up to a minute on a quiet one.
 */
const CANDIDATES_MS = [1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 300_000];

/**
 * @example eventStepMs(14_000, 180_000) // 5000: about 390 events per 5 s bucket
 */
export function eventStepMs(events: number, rangeMs: number, perBucket = 100): number {
  for (const c of CANDIDATES_MS) {
    const buckets = Math.max(1, rangeMs / c);
    if (events / buckets >= perBucket && buckets <= 4000) return c;
  }
  return CANDIDATES_MS[CANDIDATES_MS.length - 1] as number;
}
