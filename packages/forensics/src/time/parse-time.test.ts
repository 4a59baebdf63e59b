import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLeadingTimestamp } from './leading-timestamp.js';
import { epochMsFromDigits, epochMsFromNumber, parseTime } from './parse-time.js';
import { parseTimeZone, UTC } from './time-zone.js';

// 2001-09-09 … 2100: every unit is unambiguous by magnitude in this range.
const instant = fc.integer({ min: 1_000_000_000_000, max: 4_102_444_800_000 });

describe('parseTime', () => {
  it('reads epoch seconds, ms, µs and ns by magnitude', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        expect(parseTime(Math.floor(ms / 1000))).toBe(Math.floor(ms / 1000) * 1000);
        expect(parseTime(ms)).toBe(ms);
        expect(parseTime(ms * 1000)).toBe(ms);
        expect(parseTime(String(ms))).toBe(ms);
        expect(parseTime(`${ms}000`)).toBe(ms);
        expect(parseTime(`${ms}000000`)).toBe(ms);
      }),
    );
  });

  it('keeps sub-millisecond precision of nanosecond strings', () => {
    expect(epochMsFromDigits('1674981742383150913')).toBeCloseTo(1674981742383.151, 2);
    expect(epochMsFromDigits('1674981742.5')).toBe(1674981742500);
  });

  it('round-trips ISO 8601 with zone, without zone (read in the given zone), with space or comma', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: -12 * 60, max: 14 * 60 }), (ms, offsetMin) => {
        const iso = new Date(ms).toISOString();
        expect(parseTime(iso)).toBe(ms);
        expect(parseTime(iso.replace('T', ' ').replace('.', ',').replace('Z', ''))).toBe(ms);
        const sign = offsetMin < 0 ? '-' : '+';
        const abs = Math.abs(offsetMin);
        const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        const local = new Date(ms + offsetMin * 60_000).toISOString().replace('Z', '');
        expect(parseTime(`${local}${zone}`)).toBe(ms);
        expect(parseTime(local, parseTimeZone(zone))).toBe(ms);
      }),
    );
  });

  it('applies IANA zones with daylight saving', () => {
    const paris = parseTimeZone('Europe/Paris');
    expect(parseTime('2024-07-01 12:00:00', paris)).toBe(Date.UTC(2024, 6, 1, 10));
    expect(parseTime('2024-01-01 12:00:00', paris)).toBe(Date.UTC(2024, 0, 1, 11));
    expect(parseTimeZone('Mars/Olympus')).toBeUndefined();
  });

  it('never throws and returns a finite time or undefined for any value', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.string(), fc.double(), fc.stringMatching(/^[0-9.:TZ+ -]{0,30}$/)),
        (v) => {
          const t = parseTime(v);
          expect(t === undefined || Number.isFinite(t)).toBe(true);
        },
      ),
    );
  });

  it('rejects what is not a time', () => {
    for (const v of [
      '',
      'abc',
      '2024-13-01T00:00:00Z',
      '2023-02-30',
      -5,
      Number.NaN,
      {},
      null,
      true,
      '1e400',
    ])
      expect(parseTime(v)).toBeUndefined();
    expect(epochMsFromNumber(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe('parseLeadingTimestamp', () => {
  const cases: [string, number, string][] = [
    ['2024-01-02T03:04:05.123Z GET /', Date.UTC(2024, 0, 2, 3, 4, 5, 123), 'GET /'],
    ['2024-01-02 03:04:05,123 INFO started', Date.UTC(2024, 0, 2, 3, 4, 5, 123), 'INFO started'],
    ['[2024-01-02 03:04:05] x', Date.UTC(2024, 0, 2, 3, 4, 5), 'x'],
    ['[Sun Dec 04 04:47:44 2005] [notice] ok', Date.UTC(2005, 11, 4, 4, 47, 44), '[notice] ok'],
    ['Dec 10 06:55:46 LabSZ sshd[24200]: hi', Date.UTC(2023, 11, 10, 6, 55, 46), 'LabSZ sshd[24200]: hi'],
    ['17/06/09 20:10:40 INFO a', Date.UTC(2017, 5, 9, 20, 10, 40), 'INFO a'],
    ['081109 203615 148 INFO b', Date.UTC(2008, 10, 9, 20, 36, 15), '148 INFO b'],
    ['03-17 16:13:38.811  1702 D x', Date.UTC(2023, 2, 17, 16, 13, 38, 811), '1702 D x'],
    ['[10/Oct/2000:13:55:36 -0700] GET', Date.UTC(2000, 9, 10, 20, 55, 36), 'GET'],
    ['- 1117838570 2005.06.03 R02 RAS', 1117838570000, '- 1117838570 2005.06.03 R02 RAS'],
  ];
  it.each(cases)('%s', (line, ms, rest) => {
    const r = parseLeadingTimestamp(line, { year: 2023 });
    expect(r?.timeMs).toBe(ms);
    expect(r?.rest).toBe(rest);
  });

  it('reads zone-less text in --tz', () => {
    const r = parseLeadingTimestamp('2023-01-29 16:42:22.382 INFO x', {
      zone: parseTimeZone('Asia/Shanghai') ?? UTC,
    });
    expect(r?.timeMs).toBe(Date.UTC(2023, 0, 29, 8, 42, 22, 382));
  });

  it('round-trips generated `YYYY-MM-DD HH:MM:SS,mmm` lines and never throws on junk', () => {
    fc.assert(
      fc.property(instant, fc.string(), (ms, rest) => {
        const stamp = new Date(ms).toISOString().replace('T', ' ').replace('.', ',').replace('Z', '');
        expect(parseLeadingTimestamp(`${stamp} ${rest}`)?.timeMs).toBe(ms);
        parseLeadingTimestamp(rest);
      }),
    );
  });
});
