import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseExposition } from './exposition-parser.js';

export interface RecordTarget {
  /** The `/metrics` URL to scrape. */
  readonly url: string;
  /** Attached to every series of this target; `job` and `instance` override the defaults. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RecordOptions {
  readonly targets: readonly RecordTarget[];
  /** Scrape interval; defaults to 1000 ms. */
  readonly intervalMs?: number;
  /** The bundle folder; `metrics.jsonl` and `events.jsonl` are appended to, never truncated. */
  readonly out: string;
  /** Aborting it stops the recorder as `stop()` does. */
  readonly signal?: AbortSignal;
  /** How often buffered samples are written; defaults to 5000 ms. Always flushed on stop. */
  readonly flushIntervalMs?: number;
  /** Per-scrape timeout, shorter than the interval; defaults to 80 % of it. */
  readonly timeoutMs?: number;
  /** Default `job` label; defaults to `faultline`. */
  readonly job?: string;
}

export interface TargetStats {
  readonly scrapes: number;
  readonly failures: number;
}

export interface RecorderStats {
  /** Scrapes attempted, across targets. */
  readonly scrapes: number;
  /** Scrapes that failed (unreachable, timeout, non-2xx status). */
  readonly failures: number;
  /** Distinct series seen (including the synthetic `up`). */
  readonly series: number;
  /** Samples written to `metrics.jsonl`. */
  readonly samples: number;
  /** Exposition lines that could not be parsed. */
  readonly parseErrors: number;
  /** Flushes whose write failed (their data is dropped). */
  readonly writeFailures: number;
  readonly targets: Readonly<Record<string, TargetStats>>;
}

export interface Recorder {
  /** A snapshot of the counters so far. */
  stats(): RecorderStats;
  /** Stops scraping, waits for the scrapes in flight, flushes, and resolves with the final stats. */
  stop(): Promise<RecorderStats>;
}

interface SeriesBuffer {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

interface TargetState {
  readonly url: string;
  readonly labels: Readonly<Record<string, string>>;
  scrapes: number;
  failures: number;
}

/** Formats a value as Prometheus' HTTP API does. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function targetLabels(target: RecordTarget, job: string): Record<string, string> {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  labels.job = job;
  labels.instance = new URL(target.url).host;
  for (const [key, value] of Object.entries(target.labels ?? {})) labels[key] = value;
  return labels;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

/**
 * Scrapes Prometheus `/metrics` endpoints at a fixed interval and appends the series to
 * `<out>/metrics.jsonl` in the bundle's query_range shape; failed scrapes go to `<out>/events.jsonl`.
 *
 * @example const rec = record({ targets: [{ url: 'http://127.0.0.1:9464/metrics' }], out: 'run-1' }); await rec.stop();
 */
export function record(options: RecordOptions): Recorder {
  const intervalMs = options.intervalMs ?? 1000;
  if (!(intervalMs > 0)) throw new RangeError('intervalMs must be positive');
  const timeoutMs = options.timeoutMs ?? Math.max(1, Math.floor(intervalMs * 0.8));
  const flushIntervalMs = options.flushIntervalMs ?? 5000;
  const job = options.job ?? 'faultline';
  const metricsFile = join(options.out, 'metrics.jsonl');
  const eventsFile = join(options.out, 'events.jsonl');
  const ready = mkdir(options.out, { recursive: true }).then(
    () => true,
    () => false,
  );

  const targets: TargetState[] = options.targets.map((target) => ({
    url: target.url,
    labels: targetLabels(target, job),
    scrapes: 0,
    failures: 0,
  }));
  const buffer = new Map<string, SeriesBuffer>();
  const seen = new Set<string>();
  let pendingEvents: string[] = [];
  let samples = 0;
  let parseErrors = 0;
  let writeFailures = 0;
  let stopped = false;
  let stopping: Promise<RecorderStats> | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let flushing: Promise<void> = Promise.resolve();
  const startedAt = Date.now();
  let tickCount = 0;
  let tickTimer: NodeJS.Timeout | undefined;

  function add(labels: Record<string, string>, timeSeconds: number, value: number): void {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let series = buffer.get(key);
    if (series === undefined) {
      series = { metric: labels, values: [] };
      buffer.set(key, series);
    }
    seen.add(key);
    series.values.push([timeSeconds, formatValue(value)]);
  }

  function seriesLabels(name: string, scraped: Readonly<Record<string, string>>, target: TargetState) {
    const labels: Record<string, string> = Object.create(null) as Record<string, string>;
    labels.__name__ = name;
    for (const [key, value] of Object.entries(scraped)) {
      // As Prometheus does without honor_labels: target labels win, clashing scraped ones are kept renamed.
      labels[Object.hasOwn(target.labels, key) || key === '__name__' ? `exported_${key}` : key] = value;
    }
    for (const [key, value] of Object.entries(target.labels)) labels[key] = value;
    return labels;
  }

  async function scrape(target: TargetState): Promise<void> {
    const scrapeStart = Date.now();
    const seconds = scrapeStart / 1000;
    target.scrapes++;
    let ok = false;
    try {
      const response = await fetch(target.url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'text/plain;version=0.0.4' },
      });
      // Reading the body is under the same timeout signal, so a stalled body aborts too.
      const text = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const parsed = parseExposition(text);
      parseErrors += parsed.errors.length;
      for (const sample of parsed.samples) {
        const t = sample.timestampMs === undefined ? seconds : sample.timestampMs / 1000;
        add(seriesLabels(sample.name, sample.labels, target), t, sample.value);
      }
      ok = true;
    } catch (error) {
      target.failures++;
      pendingEvents.push(
        JSON.stringify({
          time: new Date(scrapeStart).toISOString(),
          kind: 'scrape_failed',
          job: target.labels.job,
          instance: target.labels.instance,
          target: target.url,
          error: errorMessage(error),
        }),
      );
    }
    add(seriesLabels('up', {}, target), seconds, ok ? 1 : 0);
  }

  function tick(): void {
    tickTimer = undefined;
    if (stopped) return;
    inFlight = Promise.all(targets.map(scrape)).then(() => {
      tickCount++;
      if (stopped) return;
      // Anchored to the start so the interval does not drift; a late tick skips missed slots.
      const elapsed = Date.now() - startedAt;
      const next = Math.max(tickCount, Math.ceil(elapsed / intervalMs)) * intervalMs;
      tickTimer = setTimeout(tick, Math.max(0, next - elapsed));
    });
  }

  function flush(): Promise<void> {
    const lines: string[] = [];
    for (const series of buffer.values()) {
      if (series.values.length === 0) continue;
      lines.push(JSON.stringify({ metric: series.metric, values: series.values }));
    }
    const written = [...buffer.values()].reduce((n, s) => n + s.values.length, 0);
    buffer.clear();
    const events = pendingEvents;
    pendingEvents = [];
    flushing = flushing.then(async () => {
      if (!(await ready)) {
        writeFailures++;
        return;
      }
      try {
        if (lines.length > 0) await appendFile(metricsFile, `${lines.join('\n')}\n`);
        samples += written;
      } catch {
        writeFailures++;
      }
      try {
        if (events.length > 0) await appendFile(eventsFile, `${events.join('\n')}\n`);
      } catch {
        writeFailures++;
      }
    });
    return flushing;
  }

  const flushTimer = setInterval(() => void flush(), flushIntervalMs);
  flushTimer.unref();

  function stats(): RecorderStats {
    let scrapes = 0;
    let failures = 0;
    const perTarget: Record<string, TargetStats> = {};
    for (const target of targets) {
      scrapes += target.scrapes;
      failures += target.failures;
      perTarget[target.url] = { scrapes: target.scrapes, failures: target.failures };
    }
    return { scrapes, failures, series: seen.size, samples, parseErrors, writeFailures, targets: perTarget };
  }

  function stop(): Promise<RecorderStats> {
    if (stopping !== undefined) return stopping;
    stopped = true;
    clearInterval(flushTimer);
    if (tickTimer !== undefined) clearTimeout(tickTimer);
    options.signal?.removeEventListener('abort', onAbort);
    stopping = (async () => {
      await inFlight;
      await flush();
      return stats();
    })();
    return stopping;
  }

  function onAbort(): void {
    void stop();
  }

  if (options.signal?.aborted) {
    void stop();
  } else {
    options.signal?.addEventListener('abort', onAbort, { once: true });
    tick();
  }
  return { stats, stop };
}
