/**
 * A zone for times written without one: `UTC`, a fixed offset (`+08:00`, `-0530`, `UTC+8`) or an
 * IANA name (`Asia/Shanghai`). Daylight-saving rules of IANA zones are honoured.
 */
export interface TimeZone {
  readonly name: string;
  /** Epoch ms of a wall-clock time (fields as in Date.UTC) read in this zone. */
  toEpochMs(wallClockAsUtcMs: number): number;
}

const OFFSET = /^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i;

function fixedZone(name: string, offsetMs: number): TimeZone {
  return { name, toEpochMs: (wall) => wall - offsetMs };
}

export const UTC: TimeZone = fixedZone('UTC', 0);

/** Offset of an IANA zone at the instant `utcMs`, in ms (east positive). */
function ianaOffsetAt(format: Intl.DateTimeFormat, utcMs: number): number {
  const parts = format.formatToParts(new Date(utcMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? '0');
  const hour = get('hour') % 24;
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), hour, get('minute'), get('second'));
  return wall - Math.floor(utcMs / 1000) * 1000;
}

/**
 * Parses a zone name; undefined when it is not one.
 * @example parseTimeZone('Asia/Shanghai')?.toEpochMs(Date.UTC(2023, 0, 29, 16, 42)) // 08:42 UTC
 */
export function parseTimeZone(name: string): TimeZone | undefined {
  const trimmed = name.trim();
  if (trimmed === '' || /^(utc|gmt|z)$/i.test(trimmed)) return UTC;
  const m = OFFSET.exec(trimmed);
  if (m !== null) {
    const hours = Number(m[2]);
    const minutes = Number(m[3] ?? '0');
    if (hours > 18 || minutes > 59) return undefined;
    return fixedZone(trimmed, (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000);
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: trimmed,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return undefined;
  }
  const cache = new Map<number, number>();
  return {
    name: trimmed,
    toEpochMs(wall) {
      // Offsets change at most at hour boundaries: cache per wall-clock hour.
      const hourKey = Math.floor(wall / 3_600_000);
      let offset = cache.get(hourKey);
      if (offset === undefined) {
        offset = ianaOffsetAt(format, wall);
        offset = ianaOffsetAt(format, wall - offset);
        if (cache.size > 10_000) cache.clear();
        cache.set(hourKey, offset);
      }
      return wall - offset;
    },
  };
}
