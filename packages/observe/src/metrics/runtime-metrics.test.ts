import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type Observer, observe } from '../observe.js';
import { find, parseExposition, value } from './exposition.fixtures.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // block the event loop
  }
}

describe('runtime metrics', () => {
  let obs: Observer | undefined;
  afterEach(() => obs?.shutdown());

  it('shows an event-loop block in the next scrape only', async () => {
    obs = observe({ service: 'rt' });
    await sleep(50);
    await obs.metrics(); // starts a fresh interval
    busy(50);
    await sleep(30); // let the monitor's timer record the late tick
    const first = parseExposition(await obs.metrics());
    expect(value(first, 'nodejs_eventloop_delay_seconds', { stat: 'max' })).toBeGreaterThanOrEqual(0.035);
    expect(value(first, 'nodejs_eventloop_utilization_ratio')).toBeGreaterThan(0.25);
    await sleep(100);
    const second = parseExposition(await obs.metrics());
    expect(value(second, 'nodejs_eventloop_delay_seconds', { stat: 'max' })).toBeLessThan(0.03);
    expect(value(second, 'nodejs_eventloop_delay_seconds', { stat: 'p99' })).toBeLessThan(0.03);
    expect(value(second, 'nodejs_eventloop_utilization_ratio')).toBeLessThan(0.5);
  });

  it('reports heap, RSS and active resources', async () => {
    obs = observe({ service: 'rt' });
    const samples = parseExposition(await obs.metrics());
    const used = value(samples, 'nodejs_heap_used_bytes');
    expect(used).toBeGreaterThan(0);
    expect(value(samples, 'nodejs_heap_limit_bytes')).toBeGreaterThan(used);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(used / 2);
    expect(value(samples, 'nodejs_active_resources')).toBeGreaterThanOrEqual(0);
  });

  it('records GC pauses by kind', async (ctx) => {
    obs = observe({ service: 'rt' });
    // no --expose-gc here: allocate enough short-lived garbage to make V8 collect
    let keep = 0;
    for (let round = 0; round < 20; round++) {
      const junk: number[][] = [];
      for (let i = 0; i < 20_000; i++) junk.push([i, i + 1, i + 2]);
      keep += junk.length;
      await sleep(1);
    }
    expect(keep).toBe(400_000);
    await sleep(20); // performance entries are delivered asynchronously
    const samples = parseExposition(await obs.metrics());
    const counts = find(samples, 'nodejs_gc_duration_seconds_count');
    if (counts.length === 0) ctx.skip('no GC event arrived');
    const total = counts.reduce((n, s) => n + s.value, 0);
    expect(total).toBeGreaterThan(0);
    for (const s of counts)
      expect(['minor', 'major', 'incremental', 'weakcb', 'other']).toContain(s.labels.kind);
  });
});
