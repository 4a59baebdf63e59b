import { Gauge } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { observe } from '../observe.js';
import { parseExposition } from '../recorder/exposition-parser.js';

// The time a scrape takes is measured by the bench (`npm run bench -- observe`); this checks that
// thousands of series come out complete and right, with the observer's own series beside them.
describe('/metrics with thousands of series', () => {
  it('renders 5,000 application series and the observer’s own, every one parseable and correct', async () => {
    const obs = observe({ service: 'api', instance: 'app-1' });
    try {
      const gauge = new Gauge({
        name: 'app_tenant_queue_depth',
        help: 'queue depth per tenant',
        labelNames: ['tenant'],
        registers: [obs.registry],
      });
      for (let i = 0; i < 5000; i++) gauge.labels(`tenant-${i}`).set(i * 2);
      for (let round = 0; round < 3; round++) {
        const parsed = parseExposition(await obs.metrics());
        expect(parsed.errors).toEqual([]);
        const tenants = parsed.samples.filter((s) => s.name === 'app_tenant_queue_depth');
        expect(tenants).toHaveLength(5000);
        expect(new Set(tenants.map((s) => s.labels.tenant)).size).toBe(5000);
        for (const s of tenants) {
          expect(s.value).toBe(Number(s.labels.tenant?.slice('tenant-'.length)) * 2);
          expect(s.labels).toMatchObject({ service: 'api', instance: 'app-1' });
        }
        expect(parsed.samples.some((s) => s.name === 'nodejs_heap_used_bytes')).toBe(true);
        expect(parsed.types.get('app_tenant_queue_depth')).toBe('gauge');
      }
    } finally {
      obs.shutdown();
    }
  });
});
