import { type TimeZone, UTC } from './time-zone.js';

/** Latest accepted time (year 2200): anything later is a unit mistake, not a time. */
const MAX_MS = 7_258_118_400_000;

function plausible(ms: number): number | undefined {
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_MS ? ms : undefined;
}

/**
 * Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude
 * (below 1e11 seconds, below 1e14 ms, below 1e17 µs, else ns), as epoch ms.
 * @example epochMsFromNumber(1674981742) // 1674981742000
 */
export function epochMsFromNumber(n: number): number | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  if (n < 1e11) return plausible(n * 1000);
  if (n < 1e14) return plausible(n);
  if (n < 1e17) return plausible(n / 1000);
  return plausible(n / 1e6);
}

const DIGITS = /^\d{1,24}(?:\.\d{1,12})?$/;

/**
 * A numeric string (`"1674981742383150913"`, `"1674981742.5"`) as epoch ms, keeping the precision a
 * double would lose on nanosecond strings.
 */
export function epochMsFromDigits(text: string): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  const digits = whole.replace(/^0+(?=\d)/, '').length;
  if (digits <= 11) return epochMsFromNumber(Number(text));
  // ms: 12-14 digits; µs: 15-17; ns: 18+. Split so the integer part stays exact.
  const shift = digits <= 14 ? 0 : digits <= 17 ? 3 : 6;
  if (shift === 0) return plausible(Number(text));
  const head = Number(whole.slice(0, whole.length - shift));
  const tail = Number(`${whole.slice(whole.length - shift)}${dot < 0 ? '' : text.slice(dot + 1)}`);
  const tailScale = 10 ** (shift + (dot < 0 ? 0 : text.length - dot - 1));
  return plausible(head + tail / tailScale);
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Epoch ms of wall-clock fields read as UTC; undefined when a field is out of range. */
export function wallClockMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  fraction: string | undefined,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60)
    return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  if (date.getUTCDate() !== day && hour < 24) return undefined; // 31 April and friends
  const frac = fraction === undefined || fraction === '' ? 0 : Number(`0.${fraction}`) * 1000;
  return ms + frac;
}

/** A zone suffix (`Z`, `+08:00`, `-0530`, `+08`) as an offset in ms. */
export function zoneOffsetMs(zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
}

/**
 * ISO 8601 (`2024-01-02T03:04:05.123Z`, with or without zone, `T` or space, `,` or `.` before the
 * fraction) as epoch ms; zone-less times are read in `zone` (UTC by default).
 */
export function parseIsoTime(text: string, zone: TimeZone = UTC): number | undefined {
  const m = ISO.exec(text);
  if (m === null) return undefined;
  const wall = wallClockMs(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4] ?? '0'),
    Number(m[5] ?? '0'),
    Number(m[6] ?? '0'),
    m[7],
  );
  if (wall === undefined) return undefined;
  return plausible(m[8] === undefined ? zone.toEpochMs(wall) : wall - zoneOffsetMs(m[8]));
}

/**
 * Any time a telemetry field may hold: a number or numeric string (epoch s/ms/µs/ns by magnitude),
 * an ISO 8601 string, or an RFC 2822 / `Date.parse`-able string with a zone. Epoch ms, or undefined.
 * @example parseTime('2024-01-02 03:04:05,123') // 1704164645123 (UTC)
 */
export function parseTime(value: unknown, zone: TimeZone = UTC): number | undefined {
  if (typeof value === 'number') return epochMsFromNumber(value);
  if (typeof value === 'bigint') return epochMsFromDigits(value.toString());
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.length > 64) return undefined;
  const first = text.charCodeAt(0);
  if (first >= 48 && first <= 57) {
    const digits = epochMsFromDigits(text);
    if (digits !== undefined) return digits;
    const iso = parseIsoTime(text, zone);
    if (iso !== undefined) return iso;
  }
  // Last resort, only for strings that name their zone (RFC 2822 and the like).
  if (/(?:GMT|UTC|Z|[+-]\d{4})$/.test(text) && /[A-Za-z]{3}/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : plausible(ms);
  }
  return undefined;
}
