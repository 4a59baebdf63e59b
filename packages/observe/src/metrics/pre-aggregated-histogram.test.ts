import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, value } from './exposition.fixtures.js';
import { PreAggregatedHistogram } from './pre-aggregated-histogram.js';

describe('PreAggregatedHistogram', () => {
  it('renders the same exposition and JSON as a prom-client histogram fed the same values', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    for (const r of [ours, theirs]) r.setDefaultLabels({ service: 'api' });
    const buckets = [0.01, 0.1, 1];
    const fast = new PreAggregatedHistogram({
      name: 'd_seconds',
      help: 'h',
      labelNames: ['route'],
      buckets,
      registry: ours,
    });
    const slow = new Histogram({
      name: 'd_seconds',
      help: 'h',
      labelNames: ['route'],
      buckets,
      registers: [theirs],
    });
    const values = [0.005, 0.01, 0.05, 0.5, 2, 0.1];
    const a = fast.series({ route: 'GET /a' });
    for (const v of values) {
      a.observe(v);
      slow.observe({ route: 'GET /a' }, v);
    }
    fast.series({ route: 'GET /b' }).observe(0.2);
    slow.observe({ route: 'GET /b' }, 0.2);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    const samples = parseExposition(await ours.metrics());
    expect(value(samples, 'd_seconds_bucket', { route: 'GET /a', le: '0.01' })).toBe(2);
    expect(value(samples, 'd_seconds_bucket', { route: 'GET /a', le: '+Inf' })).toBe(6);
    expect(value(samples, 'd_seconds_sum', { route: 'GET /a' })).toBeCloseTo(2.665);

    fast.removeSeries({ route: 'GET /a' });
    expect(await ours.metrics()).not.toContain('GET /a');
    expect(fast.series({ route: 'GET /b' }).count).toBe(1);
  });
});
