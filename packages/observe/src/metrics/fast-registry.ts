import { Registry } from 'prom-client';

type Labels = Readonly<Record<string, string | number>>;

/** A value as prom-client's metrics hand it to the registry (histograms add `sharedLabels`). */
interface ExposedValue {
  readonly value: number;
  readonly labels?: Labels;
  readonly metricName?: string;
  readonly sharedLabels?: Labels;
}

/** What a metric's `get()` (or a histogram's `getForPromString()`) resolves to. */
interface ExposedMetric {
  readonly name: string;
  readonly help: string;
  /** `counter`, `gauge`, … at run time (prom-client's typings say a numeric enum). */
  readonly type: unknown;
  readonly values: readonly ExposedValue[];
}

/**
 * A registered metric as it is at run time: prom-client's typings give `getMetricsAsArray()`
 * a `MetricObject` without its `get()`.
 */
interface RegisteredMetric {
  get(): Promise<ExposedMetric>;
  getForPromString?: () => Promise<ExposedMetric>;
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** As prom-client escapes a label value (non-strings, such as a bucket's `le`, are written as they are). */
function labelValue(value: string | number): string | number {
  if (typeof value !== 'string' || !NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

function formatLabels(labels: Labels, exclude: Labels | undefined): string {
  let text = '';
  for (const name in labels) {
    if (exclude !== undefined && Object.hasOwn(exclude, name)) continue;
    text += `${text === '' ? '' : ','}${name}="${labelValue(labels[name] as string | number)}"`;
  }
  return text;
}

/**
 * A prom-client `Registry` whose Prometheus text output is byte for byte the same, rendered
 * without prom-client's per-series cost of default labels: it merges them into a new object and
 * formats them again for every series (three object spreads and a dozen regular expressions),
 * which tripled the time of a scrape of 5,000 series (7 → 22 ms, blocking the event loop once a
 * second at 1 s scrapes). Here they are formatted once, when set, and appended. OpenMetrics
 * output goes through prom-client unchanged.
 * @example const registry = new FastRegistry(); registry.setDefaultLabels({ service: 'api' });
 */
export class FastRegistry extends Registry {
  private defaults: Labels = {};
  private defaultNames: readonly string[] = [];
  private defaultsText = '';
  private readonly sharedText = new WeakMap<Labels, string>();

  override setDefaultLabels(labels: object): void {
    super.setDefaultLabels(labels);
    this.defaults = { ...(labels as Labels) };
    this.defaultNames = Object.keys(this.defaults);
    this.defaultsText = formatLabels(this.defaults, undefined);
  }

  override clear(): void {
    super.clear();
    this.setDefaultLabels({});
  }

  override async metrics(): Promise<string> {
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return super.metrics();
    const texts = await Promise.all(this.getMetricsAsArray().map((metric) => this.render(metric)));
    return `${texts.join('\n\n')}\n`;
  }

  override getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.getSingleMetric(name);
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE || metric === undefined)
      return super.getSingleMetricAsString(name);
    return this.render(metric);
  }

  private async render(registered: object): Promise<string> {
    const metric = registered as RegisteredMetric;
    const item =
      typeof metric.getForPromString === 'function' ? await metric.getForPromString() : await metric.get();
    const name = escapeText(item.name);
    const lines = [`# HELP ${name} ${escapeText(item.help)}`, `# TYPE ${name} ${String(item.type)}`];
    for (const value of item.values) {
      const labels: Labels = value.labels ?? {};
      const shared = value.sharedLabels;
      let text = this.labelsWithDefaults(labels, shared);
      if (shared !== undefined) {
        let flat = this.sharedText.get(shared);
        if (flat === undefined) {
          flat = formatLabels(shared, undefined);
          this.sharedText.set(shared, flat);
        }
        if (flat !== '') text = text === '' ? flat : `${text},${flat}`;
      }
      lines.push(`${value.metricName ?? name}${text === '' ? '' : `{${text}}`} ${sampleValue(value.value)}`);
    }
    return lines.join('\n');
  }

  /** A value's own labels (except those `shared` holds), then the default labels it does not set itself. */
  private labelsWithDefaults(labels: Labels, shared: Labels | undefined): string {
    const own = formatLabels(labels, shared);
    if (this.defaultNames.length === 0) return own;
    let plain = true;
    for (const key of this.defaultNames)
      if (Object.hasOwn(labels, key) || (shared !== undefined && Object.hasOwn(shared, key))) plain = false;
    if (plain) return own === '' ? this.defaultsText : `${own},${this.defaultsText}`;
    // a series that sets a default label itself keeps its value, in prom-client's order
    return formatLabels({ ...labels, ...this.defaults, ...labels }, shared);
  }
}
