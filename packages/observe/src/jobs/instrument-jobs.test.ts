import { trace } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instrumentJobs } from './instrument-jobs.js';
import { memoryTracing } from './memory-tracing.fixtures.js';

describe('instrumentJobs', () => {
  let registry: Registry;
  let traced: ReturnType<typeof memoryTracing> | undefined;
  beforeEach(() => {
    registry = new Registry();
  });
  afterEach(async () => {
    registry.clear();
    await traced?.close();
    traced = undefined;
  });

  it('counts runs, failures, durations and in-progress runs; errors are rethrown', async () => {
    const { runJob } = instrumentJobs({ registry });
    let release: () => void = () => undefined;
    const running = runJob('refresh', () => new Promise<string>((r) => (release = () => r('done'))));
    expect(await registry.getSingleMetricAsString('background_jobs_in_progress')).toContain(
      'background_jobs_in_progress{job="refresh"} 1',
    );
    await new Promise((r) => setTimeout(r, 20));
    release();
    expect(await running).toBe('done');
    expect(await runJob('refresh', () => 7)).toBe(7);
    const boom = new Error('boom');
    await expect(
      runJob('refresh', async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);

    const text = await registry.metrics();
    expect(text).toContain('background_job_runs_total{job="refresh"} 3');
    expect(text).toContain('background_job_failures_total{job="refresh"} 1');
    expect(text).toContain('background_jobs_in_progress{job="refresh"} 0');
    expect(text).toContain('background_job_duration_seconds_count{job="refresh",result="success"} 2');
    expect(text).toContain('background_job_duration_seconds_count{job="refresh",result="failure"} 1');
    // the 20 ms run is above the 0.01 bucket
    expect(text).toContain(
      'background_job_duration_seconds_bucket{le="0.005",job="refresh",result="success"} 1',
    );
    expect(text).toMatch(/background_job_duration_seconds_sum\{job="refresh",result="success"\} 0\.0[1-9]/);
  });

  it('makes a span per run, active inside the job, with an error status on failure', async () => {
    traced = memoryTracing();
    const { runJob } = instrumentJobs({ registry, tracing: traced.tracing });
    let inner: string | undefined;
    await runJob('send-mail', async () => {
      await new Promise((r) => setImmediate(r));
      inner = trace.getActiveSpan()?.spanContext().spanId;
    });
    await expect(
      runJob('send-mail', () => {
        throw new TypeError('bad');
      }),
    ).rejects.toThrow('bad');
    const spans = traced.exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['job send-mail', 'job send-mail']);
    expect(spans[0]?.spanContext().spanId).toBe(inner);
    expect(spans[0]?.attributes['job.name']).toBe('send-mail');
    expect(spans[1]?.status.code).toBe(2);
    expect(spans[1]?.attributes['error.type']).toBe('TypeError');
  });
});
