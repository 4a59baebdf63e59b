import { Histogram, type Registry } from 'prom-client';

/** One labelled series of a {@link PreAggregatedHistogram}: observe into it on the hot path. */
export class HistogramSeries {
  count = 0;
  sum = 0;
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  readonly buckets: Float64Array;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] as number) + 1;
  }
}

export interface PreAggregatedHistogramOptions<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly buckets: readonly number[];
  readonly registry: Registry;
}

/**
 * A prom-client histogram whose series are counted in plain arrays and rendered only when
 * scraped: prom-client's own `observe()` hashes the label set and walks an object of buckets on
 * every call (~3–5 µs), this one's costs a comparison per bucket. The exposition is the same.
 * @example const h = new PreAggregatedHistogram({ name, help, labelNames: ['pool'], buckets, registry });
 *   const main = h.series({ pool: 'main' }); main.observe(0.002);
 */
export class PreAggregatedHistogram<T extends string> extends Histogram<T> {
  private readonly all = new Map<string, HistogramSeries>();
  private readonly bounds: readonly number[];
  private readonly order: readonly T[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(options: PreAggregatedHistogramOptions<T>) {
    super({
      name: options.name,
      help: options.help,
      labelNames: options.labelNames,
      buckets: [...options.buckets],
      registers: [options.registry],
    });
    this.bounds = [...options.buckets];
    this.order = options.labelNames;
    this.metricName = options.name;
    this.metricHelp = options.help;
  }

  /** The series of `labels`, created on first use; keep it and observe into it. */
  series(labels: Readonly<Record<T, string>>): HistogramSeries {
    const key = this.keyOf(labels);
    let s = this.all.get(key);
    if (s === undefined) {
      s = new HistogramSeries({ ...labels }, this.bounds);
      this.all.set(key, s);
    }
    return s;
  }

  /** Forgets the series of `labels`. */
  removeSeries(labels: Readonly<Record<T, string>>): void {
    this.all.delete(this.keyOf(labels));
  }

  private keyOf(labels: Readonly<Record<T, string>>): string {
    return this.order.map((n) => labels[n]).join('\u0000');
  }

  /** What prom-client's Registry (and `get()`) read: the shape of its own histograms. */
  async getForPromString(): Promise<unknown> {
    const name = this.metricName;
    const bucket = `${name}_bucket`;
    const values: unknown[] = [];
    for (const s of this.all.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.buckets[i] as number;
        values.push({
          labels: { le: this.bounds[i] },
          sharedLabels: s.labels,
          value: acc,
          metricName: bucket,
          exemplar: null,
        });
      }
      values.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: s.labels,
          value: s.count,
          metricName: bucket,
          exemplar: null,
        },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` },
      );
    }
    return { name, help: this.metricHelp, type: 'histogram', values, aggregator: 'sum' };
  }
}
