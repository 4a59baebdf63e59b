import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../store/store-queries.js';
import { eventText, eventTimeline } from './event-text.js';

const T = Date.UTC(2026, 0, 2, 14, 30, 0);
const event = (kind: string, extra: Partial<EventRecord> = {}): EventRecord => ({
  timeMs: T,
  kind,
  service: null,
  instance: null,
  attrs: {},
  ...extra,
});

describe('eventText', () => {
  it('says who was ejected and why', () => {
    expect(
      eventText(
        event('lb.eject', {
          service: 'lb',
          attrs: { target: 'app-2', reason: '3 failed health checks (timeout after 1000ms)' },
        }),
      ),
    ).toBe('app-2 ejected: 3 failed health checks (timeout after 1000ms)');
    expect(
      eventText(
        event('lb.return', { service: 'lb', attrs: { target: 'app-2', reason: '2 passed health checks' } }),
      ),
    ).toBe('app-2 back in rotation: 2 passed health checks');
  });

  it('names crashes, restarts and injected faults in plain words', () => {
    const app1 = { service: 'app', instance: 'app-1' };
    expect(
      eventText(event('process.crash', { ...app1, attrs: { signal: 'SIGABRT', exit_code: null } })),
    ).toBe('app-1 crashed (SIGABRT)');
    expect(eventText(event('process.crash', { ...app1, attrs: { exit_code: 137 } }))).toBe(
      'app-1 crashed (exit code 137)',
    );
    expect(eventText(event('process.restart', app1))).toBe('app-1 restarted');
    expect(
      eventText(event('fault.injected', { ...app1, attrs: { note: 'app-1 starts leaking 10 MB/s' } })),
    ).toBe('fault injected into app-1: app-1 starts leaking 10 MB/s');
    // an unknown kind keeps its name, its subject and its reason
    expect(eventText(event('deploy', { service: 'api', instance: 'api-7', attrs: { note: 'v2.3.1' } }))).toBe(
      'deploy api-7: v2.3.1',
    );
    expect(eventText(event('chaos.proxy.created', { attrs: { proxy: 'db' } }))).toBe(
      'chaos.proxy.created db',
    );
  });
});

describe('eventTimeline', () => {
  it('folds a run of the same event into one line and keeps the others apart', () => {
    const failed = (s: number, instance = 'app-1') =>
      event('scrape_failed', { timeMs: T + s * 1000, instance, attrs: { error: 'fetch failed' } });
    const lines = eventTimeline([failed(0), failed(1), failed(2), failed(1, 'app-2'), failed(40)]);
    expect(lines.map((l) => [l.timeMs - T, l.text])).toEqual([
      [0, 'scrape_failed app-1: fetch failed ×3 over 2 s'],
      [1000, 'scrape_failed app-2: fetch failed'],
      [40_000, 'scrape_failed app-1: fetch failed'],
    ]);
    // an ejection, a return, an ejection: three lines, not one run of two ejections
    const lb = (kind: string, s: number) =>
      event(kind, { timeMs: T + s * 1000, service: 'lb', attrs: { target: 'app-1' } });
    expect(
      eventTimeline([lb('lb.eject', 0), lb('lb.return', 4), lb('lb.eject', 8)]).map((l) => l.text),
    ).toEqual(['app-1 ejected', 'app-1 back in rotation', 'app-1 ejected']);
  });
});
