import fc from 'fast-check';
import { Counter, Gauge, Histogram, type OpenMetricsContentType, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastRegistry } from './fast-registry.js';

const labelName = fc.constantFrom('route', 'status', 'service', 'instance', 'tenant', 'le_x');
// values with the characters the exposition format escapes, and the empty string
const labelValue = fc.string({
  unit: fc.constantFrom('a', 'b', '"', '\\', '\n', '/', ' ', 'é'),
  maxLength: 6,
});
const defaults = fc.dictionary(fc.constantFrom('service', 'instance', 'zone'), labelValue, { maxKeys: 3 });
interface MetricSpec {
  readonly kind: 'counter' | 'gauge' | 'histogram' | 'summary';
  readonly labelNames: string[];
  readonly help: string;
  readonly series: [string[], number][];
}
const metricSpec: fc.Arbitrary<MetricSpec> = fc.record({
  kind: fc.constantFrom('counter' as const, 'gauge' as const, 'histogram' as const, 'summary' as const),
  labelNames: fc.uniqueArray(labelName, { maxLength: 3 }),
  help: labelValue,
  series: fc.array(
    fc.tuple(fc.array(labelValue, { minLength: 3, maxLength: 3 }), fc.double({ noNaN: false })),
    {
      maxLength: 5,
    },
  ),
});

function populate(registry: Registry, specs: readonly MetricSpec[]): void {
  specs.forEach((spec, i) => {
    const common = {
      name: `m${i}_${spec.kind}`,
      help: `help ${spec.help}`,
      labelNames: spec.labelNames,
      registers: [registry],
    };
    const labelsOf = (values: readonly string[]) =>
      Object.fromEntries(spec.labelNames.map((n, j) => [n, values[j] ?? ''] as const));
    if (spec.kind === 'counter') {
      const c = new Counter(common);
      for (const [values, v] of spec.series) c.inc(labelsOf(values), Number.isFinite(v) ? Math.abs(v) : 1);
    } else if (spec.kind === 'gauge') {
      const g = new Gauge(common);
      for (const [values, v] of spec.series) g.set(labelsOf(values), v);
    } else if (spec.kind === 'histogram') {
      const h = new Histogram({ ...common, buckets: [0.01, 1, 100] });
      for (const [values, v] of spec.series) if (Number.isFinite(v)) h.observe(labelsOf(values), v);
    } else {
      const s = new Summary({ ...common, percentiles: [0.5, 0.99] });
      for (const [values, v] of spec.series) if (Number.isFinite(v)) s.observe(labelsOf(values), v);
    }
  });
}

describe('FastRegistry', () => {
  it('writes exactly what prom-client writes, default labels, escapes and histograms included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(metricSpec, { maxLength: 4 }), defaults, async (specs, labels) => {
        const plain = new Registry();
        const fast = new FastRegistry();
        plain.setDefaultLabels(labels);
        fast.setDefaultLabels(labels);
        populate(plain, specs);
        populate(fast, specs);
        expect(await fast.metrics()).toBe(await plain.metrics());
        for (const m of fast.getMetricsAsArray())
          expect(await fast.getSingleMetricAsString(m.name)).toBe(
            await plain.getSingleMetricAsString(m.name),
          );
      }),
      { numRuns: 300 },
    );
  });

  it('forgets its default labels when cleared, as prom-client does', async () => {
    const fast = new FastRegistry();
    fast.setDefaultLabels({ service: 'api' });
    fast.clear();
    new Gauge({ name: 'up_now', help: 'up', registers: [fast] }).set(1);
    expect(await fast.metrics()).toBe('# HELP up_now up\n# TYPE up_now gauge\nup_now 1\n');
  });

  it('leaves OpenMetrics output to prom-client', async () => {
    const fast = new FastRegistry();
    const plain = new Registry<OpenMetricsContentType>();
    for (const r of [fast, plain]) {
      (r as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      r.setDefaultLabels({ service: 'api' });
      new Counter({ name: 'calls', help: 'calls', labelNames: ['route'], registers: [r] }).inc({
        route: '/',
      });
    }
    expect(await fast.metrics()).toBe(await plain.metrics());
  });
});
