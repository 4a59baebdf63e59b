import { type Queryable, type SignalRange, StoreQueries } from '../store/store-queries.js';

/** A service whose clocks disagree between signals. */
export interface ClockSuspicion {
  readonly service: string;
  /** `logs-vs-spans`: logs joined to their spans by trace/span id sit outside them; `disjoint-ranges`: a service's signals do not overlap in time. */
  readonly kind: 'logs-vs-spans' | 'disjoint-ranges';
  /** Median offset of the first signal against the second, ms (positive: logs later). */
  readonly offsetMs: number;
  readonly detail: string;
}

const TOLERANCE_MS = 1000;
const DISJOINT_MS = 10 * 60_000;

function n(row: Record<string, unknown>, key: string): number {
  const v = row[key];
  return typeof v === 'bigint' ? Number(v) : Number(v);
}

/**
 * Looks for clock offsets: per service, logs that carry a trace id should fall inside (or near)
 * their span; and a service's logs, spans and metric samples should overlap in time.
 */
export async function findClockSuspicions(
  db: Queryable,
  /** The store's signal ranges, when the caller has them already (they cost a scan of each table). */
  ranges?: readonly SignalRange[],
): Promise<ClockSuspicion[]> {
  const out: ClockSuspicion[] = [];
  const joined = await db.query(`
    WITH j AS (
      SELECT l.service, l.t_ms - s.start_ms AS off,
             (l.t_ms < s.start_ms - ${TOLERANCE_MS} OR l.t_ms > s.start_ms + s.duration_ms + ${TOLERANCE_MS}) AS outside
      FROM logs l JOIN spans s ON l.trace_id = s.trace_id AND l.span_id = s.span_id
      WHERE l.trace_id IS NOT NULL AND l.span_id IS NOT NULL AND l.service IS NOT NULL)
    SELECT service, count(*)::DOUBLE AS n, avg(outside::INTEGER) AS share, median(off) AS med
    FROM j GROUP BY 1 HAVING count(*) >= 5 ORDER BY 1`);
  for (const r of joined) {
    const share = n(r, 'share');
    const med = n(r, 'med');
    if (share >= 0.5 && Math.abs(med) > TOLERANCE_MS) {
      out.push({
        service: String(r.service),
        kind: 'logs-vs-spans',
        offsetMs: med,
        detail: `${Math.round(share * 100)}% of ${n(r, 'n')} logs fall outside their span; median offset ${Math.round(med)} ms`,
      });
    }
  }
  const bySignal = new Map<string, Map<string, { lo: number; hi: number }>>();
  for (const r of ranges ?? (await new StoreQueries(db).signalRanges())) {
    if (r.service === null || r.fromMs === null || r.toMs === null || r.signal === 'events') continue;
    let of = bySignal.get(r.service);
    if (of === undefined) {
      of = new Map();
      bySignal.set(r.service, of);
    }
    of.set(r.signal, { lo: r.fromMs, hi: r.toMs });
  }
  for (const [service, of] of [...bySignal].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const signals = [...of.keys()].sort();
    for (let i = 0; i < signals.length; i++) {
      for (let j = i + 1; j < signals.length; j++) {
        const [aSig, bSig] = [signals[i] as string, signals[j] as string];
        const a = of.get(aSig);
        const b = of.get(bSig);
        if (a === undefined || b === undefined) continue;
        if (!(a.lo > b.hi + DISJOINT_MS || b.lo > a.hi + DISJOINT_MS)) continue;
        const offset = (a.lo + a.hi) / 2 - (b.lo + b.hi) / 2;
        out.push({
          service,
          kind: 'disjoint-ranges',
          offsetMs: offset,
          detail: `${aSig} and ${bSig} do not overlap (midpoints ${Math.round(offset / 60_000)} min apart)`,
        });
      }
    }
  }
  return out;
}
