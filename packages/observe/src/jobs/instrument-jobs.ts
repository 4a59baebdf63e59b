import { performance } from 'node:perf_hooks';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Tracing } from '../traces/tracing.js';

export interface InstrumentJobsOptions {
  readonly registry: Registry;
  /** When given, a `job <name>` span per run, active while the job runs. */
  readonly tracing?: Pick<Tracing, 'tracer'> | undefined;
}

/** Jobs take from ms (a cache refresh) to minutes (a batch). */
export const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface JobRunner {
  /**
   * Runs `fn` as job `name` (a bounded name such as `refresh-prices`, never an id): counts the
   * run, times it, keeps it in the in-progress gauge while it runs, and counts a failure when it
   * throws or rejects; the error is rethrown.
   */
  runJob<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
}

interface Series {
  readonly runs: Counter.Internal;
  readonly failures: Counter.Internal;
  readonly inProgress: Gauge.Internal<'job'>;
  readonly ok: Histogram.Internal<'job' | 'result'>;
  readonly failed: Histogram.Internal<'job' | 'result'>;
}

/** The job counters, histogram and gauge of one registry. */
export class JobMetrics {
  private readonly runs: Counter<'job'>;
  private readonly failures: Counter<'job'>;
  private readonly duration: Histogram<'job' | 'result'>;
  private readonly inProgress: Gauge<'job'>;
  private readonly series = new Map<string, Series>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.runs = new Counter({
      name: 'background_job_runs_total',
      help: 'Background job runs started, by job',
      labelNames: ['job'],
      registers,
    });
    this.failures = new Counter({
      name: 'background_job_failures_total',
      help: 'Background job runs that threw or rejected, by job',
      labelNames: ['job'],
      registers,
    });
    this.duration = new Histogram({
      name: 'background_job_duration_seconds',
      help: 'Background job run time, by job and result (success, failure)',
      labelNames: ['job', 'result'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.inProgress = new Gauge({
      name: 'background_jobs_in_progress',
      help: 'Background job runs running now, by job',
      labelNames: ['job'],
      registers,
    });
  }

  of(job: string): Series {
    let s = this.series.get(job);
    if (s === undefined) {
      s = {
        runs: this.runs.labels(job),
        failures: this.failures.labels(job),
        inProgress: this.inProgress.labels(job),
        ok: this.duration.labels(job, 'success'),
        failed: this.duration.labels(job, 'failure'),
      };
      this.series.set(job, s);
    }
    return s;
  }
}

const perRegistry = new WeakMap<Registry, JobMetrics>();

/** The JobMetrics of `registry`, created on first use (metric names are registered once). */
export function jobMetricsFor(registry: Registry): JobMetrics {
  let metrics = perRegistry.get(registry);
  if (metrics === undefined) {
    metrics = new JobMetrics(registry);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

/** Forgets the JobMetrics of `registry` (after its metrics were removed from it). */
export function releaseJobMetrics(registry: Registry): void {
  perRegistry.delete(registry);
}

/**
 * A job runner recording runs, failures, durations and in-progress runs into `registry`, and a
 * span per run when `tracing` is given.
 * @example const { runJob } = instrumentJobs({ registry }); await runJob('refresh-prices', refresh);
 */
export function instrumentJobs(options: InstrumentJobsOptions): JobRunner {
  const metrics = jobMetricsFor(options.registry);
  const tracer = options.tracing?.tracer;
  return {
    async runJob<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
      const s = metrics.of(name);
      const span = tracer?.startSpan(`job ${name}`, { attributes: { 'job.name': name } });
      s.runs.inc();
      s.inProgress.inc();
      const start = performance.now();
      try {
        const result =
          span === undefined ? await fn() : await context.with(trace.setSpan(context.active(), span), fn);
        s.ok.observe((performance.now() - start) / 1000);
        return result;
      } catch (e) {
        s.failures.inc();
        s.failed.observe((performance.now() - start) / 1000);
        if (span !== undefined) {
          span.recordException(e instanceof Error ? e : String(e));
          span.setAttribute('error.type', e instanceof Error ? e.name : 'Error');
          span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
        }
        throw e;
      } finally {
        s.inProgress.dec();
        span?.end();
      }
    },
  };
}
