import type { Queryable } from '../store/store-queries.js';

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
export async function findClockSuspicions(db: Queryable): Promise<ClockSuspicion[]> {
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
  const ranges = await db.query(`
    WITH r AS (
      SELECT service, 'logs' AS sig, min(t_ms) lo, max(t_ms) hi FROM logs WHERE service IS NOT NULL GROUP BY 1
      UNION ALL SELECT service, 'spans', min(start_ms), max(start_ms + duration_ms) FROM spans WHERE service IS NOT NULL GROUP BY 1
      UNION ALL SELECT s.service, 'metrics', min(m.t_ms), max(m.t_ms) FROM metric_samples m JOIN series s USING (series_id)
        WHERE s.service IS NOT NULL GROUP BY 1)
    SELECT a.service, a.sig AS a_sig, b.sig AS b_sig, a.lo a_lo, a.hi a_hi, b.lo b_lo, b.hi b_hi
    FROM r a JOIN r b ON a.service = b.service AND a.sig < b.sig
    WHERE a.lo > b.hi + ${DISJOINT_MS} OR b.lo > a.hi + ${DISJOINT_MS} ORDER BY 1, 2, 3`);
  for (const r of ranges) {
    const offset = (n(r, 'a_lo') + n(r, 'a_hi')) / 2 - (n(r, 'b_lo') + n(r, 'b_hi')) / 2;
    out.push({
      service: String(r.service),
      kind: 'disjoint-ranges',
      offsetMs: offset,
      detail: `${String(r.a_sig)} and ${String(r.b_sig)} do not overlap (midpoints ${Math.round(offset / 60_000)} min apart)`,
    });
  }
  return out;
}
