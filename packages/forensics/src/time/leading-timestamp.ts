import { epochMsFromDigits, wallClockMs, zoneOffsetMs } from './parse-time.js';
import { type TimeZone, UTC } from './time-zone.js';

/** A text log line split into its leading time and the rest. */
export interface LeadingTimestamp {
  readonly timeMs: number;
  /** The line after the timestamp and its separators. */
  readonly rest: string;
}

export interface LeadingTimestampOptions {
  /** Zone for times written without one; UTC by default. */
  readonly zone?: TimeZone;
  /** Year for formats that omit it (syslog, Android); the current year by default. */
  readonly year?: number;
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const MON = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const ZONE = '(Z|[+-]\\d{2}:?\\d{2})';

// Each pattern yields named fields; tried in order, first match wins. All anchored at the start,
// after an optional `[`.
const ISO_LIKE = new RegExp(
  `^\\[?(\\d{4})[-/.](\\d{1,2})[-/.](\\d{1,2})[T ]?[ ]?(\\d{1,2})[:.](\\d{2})[:.](\\d{2})(?:[.,:](\\d{1,9}))?\\s*${ZONE}?\\]?`,
);
const BGL_LIKE = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})\.(\d{2})\.(\d{2})(?:\.(\d{1,9}))?/;
const YY_SLASH = /^\[?(\d{2})\/(\d{2})\/(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\]?/;
const COMPACT = /^(\d{2})(\d{2})(\d{2})[ T](\d{2})(\d{2})(\d{2})\b/;
const MONTH_DAY = /^\[?(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\]?/;
const SYSLOG = new RegExp(
  `^\\[?${MON}\\s+(\\d{1,2})\\s+(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?(?:\\s+(\\d{4}))?\\]?`,
);
const CTIME = new RegExp(
  `^\\[?${DAY}\\s+${MON}\\s+(\\d{1,2})\\s+(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?\\s+(\\d{4})\\]?`,
);
const CLF = new RegExp(`^\\[(\\d{2})/${MON}/(\\d{4}):(\\d{2}):(\\d{2}):(\\d{2})(?:\\s+([+-]\\d{4}))?\\]`);
const EPOCH_TOKEN = /^(?:\S{1,32}\s+){0,5}?((?:1|2)\d{9}(?:\d{3})?(?:\.\d{1,9})?)(?=\s|$)/;

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  fraction: string | undefined;
  zone: string | undefined;
  yearless: boolean;
}
type Pattern = { re: RegExp; fields: (m: RegExpExecArray, year: number) => Fields };
const g = (m: RegExpExecArray, i: number): number => Number(m[i]);
const fields = (
  year: number,
  month: number,
  day: number,
  m: RegExpExecArray,
  at: number,
  fraction: string | undefined,
  zone: string | undefined,
  yearless = false,
): Fields => ({
  year,
  month,
  day,
  hour: g(m, at),
  minute: g(m, at + 1),
  second: g(m, at + 2),
  fraction,
  zone,
  yearless,
});

const DIGIT_PATTERNS: readonly Pattern[] = [
  { re: ISO_LIKE, fields: (m) => fields(g(m, 1), g(m, 2), g(m, 3), m, 4, m[7], m[8]) },
  { re: BGL_LIKE, fields: (m) => fields(g(m, 1), g(m, 2), g(m, 3), m, 4, m[7], undefined) },
  { re: YY_SLASH, fields: (m) => fields(2000 + g(m, 1), g(m, 2), g(m, 3), m, 4, m[7], undefined) },
  { re: COMPACT, fields: (m) => fields(2000 + g(m, 1), g(m, 2), g(m, 3), m, 4, undefined, undefined) },
  { re: MONTH_DAY, fields: (m, y) => fields(y, g(m, 1), g(m, 2), m, 3, m[6], undefined, true) },
  { re: CLF, fields: (m) => fields(g(m, 3), month(m[2]), g(m, 1), m, 4, undefined, m[7]) },
];
const WORD_PATTERNS: readonly Pattern[] = [
  {
    re: SYSLOG,
    fields: (m, y) =>
      fields(
        m[7] === undefined ? y : g(m, 7),
        month(m[1]),
        g(m, 2),
        m,
        3,
        m[6],
        undefined,
        m[7] === undefined,
      ),
  },
  { re: CTIME, fields: (m) => fields(g(m, 7), month(m[1]), g(m, 2), m, 3, m[6], undefined) },
];

const SEPARATORS = /^[\s,\-|:\]]*/;

function restOf(line: string, end: number): string {
  return line.slice(end).replace(SEPARATORS, '');
}

function inZone(wall: number | undefined, zoneText: string | undefined, zone: TimeZone): number | undefined {
  if (wall === undefined) return undefined;
  return zoneText === undefined ? zone.toEpochMs(wall) : wall - zoneOffsetMs(zoneText);
}

/** A year-less time guessed into the future belongs to last year (logs are not from the future). */
function pastYear(ms: number | undefined, yearGiven: boolean): number | undefined {
  if (ms === undefined || yearGiven || ms <= Date.now() + 86_400_000) return ms;
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() - 1);
  return d.getTime();
}

function month(name: string | undefined): number {
  return MONTHS[(name ?? '').toLowerCase()] ?? 0;
}

function done(timeMs: number | undefined, line: string, end: number): LeadingTimestamp | undefined {
  if (timeMs === undefined || !Number.isFinite(timeMs)) return undefined;
  return { timeMs, rest: restOf(line, end) };
}

/**
 * Reads the timestamp a text log line starts with: ISO (`2024-01-02T03:04:05Z`,
 * `2024-01-02 03:04:05,123`), bracketed (`[2024-01-02 03:04:05]`, `[Sun Dec 04 04:47:44 2005]`,
 * `[10/Oct/2000:13:55:36 -0700]`), syslog (`Jan  2 03:04:05`), `17/06/09 20:10:40`,
 * `081109 203615`, `03-17 16:13:38.811`, or an epoch-seconds token among the first few.
 * @example parseLeadingTimestamp('2024-01-02 03:04:05,123 INFO started')?.rest // 'INFO started'
 */
export function parseLeadingTimestamp(
  line: string,
  options: LeadingTimestampOptions = {},
): LeadingTimestamp | undefined {
  const zone = options.zone ?? UTC;
  const yearGiven = options.year !== undefined;
  const year = options.year ?? new Date().getUTCFullYear();
  const head = line.length > 200 ? line.slice(0, 200) : line;
  const c = head.charCodeAt(head.charCodeAt(0) === 91 ? 1 : 0); // skip '['
  const digit = c >= 48 && c <= 57;
  for (const p of digit ? DIGIT_PATTERNS : WORD_PATTERNS) {
    const m = p.re.exec(head);
    if (m === null) continue;
    const f = p.fields(m, year);
    const wall = wallClockMs(f.year, f.month, f.day, f.hour, f.minute, f.second, f.fraction);
    let ms = inZone(wall, f.zone, zone);
    if (f.yearless) ms = pastYear(ms, yearGiven);
    return done(ms, line, m[0].length);
  }
  const m = EPOCH_TOKEN.exec(head);
  if (m !== null) {
    const ms = epochMsFromDigits(m[1]!);
    // The whole line stays the message: the token may sit in the middle of it.
    if (ms !== undefined) return { timeMs: ms, rest: line.trim() };
  }
  return undefined;
}
