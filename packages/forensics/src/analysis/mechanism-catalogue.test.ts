import { describe, expect, it } from 'vitest';
import type { SignalOnset } from './analysis-types.js';
import { nameMechanism } from './mechanism-catalogue.js';

const T = 1_700_000_000_000;
const ev = (service: string, name: string, extra: Partial<SignalOnset> = {}): SignalOnset => ({
  signalId: `${service} ${name}`,
  service,
  instance: null,
  source: 'metric',
  kind: 'latency',
  name,
  onsetMs: T,
  direction: 'up',
  z: 50,
  before: 1,
  after: 10,
  stepMs: 1000,
  ...extra,
});

describe('nameMechanism', () => {
  it('jobs that pile up in a service that stalled first are not a job at peak; a job that ran first is', () => {
    const slow = ev('app', 'self time p90', { kind: 'self-time', source: 'span' });
    const failing = ev('app', 'span errors', { kind: 'errors', source: 'span', onsetMs: T + 1000 });
    const piledUp = ev('app', 'background job refresh in progress', {
      kind: 'other',
      source: 'span',
      onsetMs: T + 22_000,
    });
    const stalled = [slow, failing, piledUp];
    const input = { service: 'app', evidence: stalled, events: [], incidentEvidence: stalled };
    expect(nameMechanism(input) ?? '').not.toMatch(/background job/);
    const started = { ...piledUp, onsetMs: T - 2000 };
    const ranFirst = [slow, failing, started];
    expect(nameMechanism({ ...input, evidence: ranFirst, incidentEvidence: ranFirst })).toMatch(
      /^background job at peak/,
    );
    // scraped once a second, a job's gauge may show a moment after the first slow requests
    const scraped = [slow, failing, { ...piledUp, onsetMs: T + 1000 }];
    expect(nameMechanism({ ...input, evidence: scraped, incidentEvidence: scraped })).toMatch(
      /^background job at peak/,
    );
  });

  it('errors of a service propagated to its callers only when the callers show it', () => {
    const raised = ev('sshd', 'error logs', { kind: 'errors', source: 'log' });
    const alone = { service: 'sshd', evidence: [raised], events: [], incidentEvidence: [raised] };
    expect(nameMechanism(alone)).toMatch(/^errors raised in the service/);
    expect(nameMechanism(alone)).not.toMatch(/callers/);
    const callerFailed = ev('gateway', 'http 5xx', { kind: 'errors', onsetMs: T + 2000 });
    expect(
      nameMechanism({ ...alone, incidentEvidence: [raised, callerFailed], callerEvidence: [callerFailed] }),
    ).toMatch(/propagated to its callers/);
  });

  it('a job that failed after its dependency slowed is a victim, not a job at peak', () => {
    const failed = ev('app', 'background_job_failures_total{job=refresh-top-products}', {
      kind: 'errors',
      onsetMs: T + 14_000,
    });
    const rejected = ev('app', 'faultline_rejections_total{code=FL_POOL_ACQUIRE_TIMEOUT}', {
      kind: 'errors',
      onsetMs: T + 1000,
    });
    const input = {
      service: 'app',
      evidence: [rejected, failed],
      events: [],
      incidentEvidence: [rejected, failed],
    };
    expect(nameMechanism(input) ?? '').not.toMatch(/background job/);
    // a job that ran first is one
    const ran = ev('app', 'background_jobs_in_progress{job=nightly-report}', { kind: 'other' });
    expect(nameMechanism({ ...input, evidence: [ran, rejected, failed] })).toMatch(/^background job at peak/);
  });

  it('a dependency that failed while its callers’ defences engaged and their pools stayed free: contained', () => {
    const db = [ev('db', 'span errors', { kind: 'errors', source: 'span' })];
    const breaker = ev('app', 'faultline_breaker_state{name=orders-db,state=open}', { kind: 'other' });
    const input = {
      service: 'db',
      evidence: db,
      events: [],
      incidentEvidence: [...db, breaker],
      database: true,
    };
    expect(nameMechanism({ ...input, callerEvidence: [breaker] })).toMatch(
      /^slow or failing dependency, contained/,
    );
    // pools that filled all the same: the catalogue's pool saturation
    const waiting = ev('app', 'db_pool_waiting', { kind: 'saturation' });
    expect(nameMechanism({ ...input, callerEvidence: [breaker, waiting] })).toMatch(/pool saturation/);
    // no defence engaged: the callers waited on it
    expect(nameMechanism({ ...input, callerEvidence: [] })).not.toMatch(/contained/);
  });

  it('every node ejected at once on failed health checks: a deep health check, unless a job of the service started first', () => {
    const ejections = ['app-1', 'app-2', 'app-3'].map((target, i) => ({
      kind: 'lb.eject',
      service: 'lb',
      target,
      timeMs: T + 2000 + i * 500,
    }));
    const failing = [
      ev('app', 'http_server_errors_total{route=GET /health,status=503}', {
        kind: 'errors',
        onsetMs: T + 1000,
      }),
      ev('app', 'db_pool_waiting', { kind: 'saturation', onsetMs: T + 1000 }),
    ];
    const input = (evidence: SignalOnset[]) => ({
      service: 'app',
      evidence,
      events: ejections,
      incidentEvidence: evidence,
    });
    expect(nameMechanism(input(failing))).toMatch(/^deep health check/);
    // the same ejections, after a report job started on every node: the job is the trigger
    const job = ev('app', 'background_jobs_in_progress{job=nightly-report}', {
      kind: 'other',
      onsetMs: T + 1000,
    });
    expect(nameMechanism(input([...failing, job]))).toMatch(/^background job at peak/);
  });

  it('a leak that ends with the instance down, before anything queued: memory leak', () => {
    const heap = ev('app', 'nodejs_heap_used_bytes', { kind: 'memory', onsetMs: T - 6000 });
    const up = ev('app', 'up', { kind: 'availability', direction: 'down', onsetMs: T });
    const pool = ev('app', 'db_pool_waiting', { kind: 'saturation', onsetMs: T + 5000 });
    const named = nameMechanism({
      service: 'app',
      evidence: [heap, up, pool],
      events: [],
      incidentEvidence: [],
    });
    expect(named).toMatch(/^memory leak → the instance runs out of memory/);
    // a crash event of the service says the same without an `up` series
    expect(
      nameMechanism({
        service: 'app',
        evidence: [heap, pool],
        events: [{ kind: 'process.crash', service: 'app' }],
        incidentEvidence: [],
      }),
    ).toMatch(/^memory leak/);
    // memory that grew after the pool filled is held requests, not a leak
    const late = { ...heap, onsetMs: T + 9000 };
    expect(
      nameMechanism({ service: 'app', evidence: [late, up, pool], events: [], incidentEvidence: [] }) ?? '',
    ).not.toMatch(/leak/);
  });

  it('a dependency slow for a short while, its callers failing long after, with client retries up: a retry storm', () => {
    const slow = (toMs: number) =>
      ev('postgres', 'calls app→postgres p95', { source: 'span', caller: 'app', z: 150, lastMs: toMs });
    const retries = ev('client', 'client_attempts_total', { kind: 'other' });
    const failing = (lastMs: number) =>
      ev('app', 'span errors', { source: 'span', kind: 'errors', z: 900, lastMs });
    const input = (triggerEnd: number, victimsEnd: number) => ({
      service: 'postgres',
      evidence: [slow(triggerEnd)],
      events: [],
      incidentEvidence: [retries, failing(victimsEnd)],
      database: true,
      callerEvidence: [ev('app', 'db_pool_waiting', { kind: 'saturation' })],
    });
    // 10 s of trigger, 35 s of failures after it
    expect(nameMechanism(input(T + 10_000, T + 45_000))).toMatch(/^retry storm/);
    // 20 s of trigger, 15 s to drain: the database and the pools it filled
    expect(nameMechanism(input(T + 20_000, T + 35_000))).toMatch(/^slow or failing database/);
  });

  it('a service’s own outbound request counter is not client retries', () => {
    const outbound = ev('app', 'http_client_requests_total{dependency=pricing}', { kind: 'traffic', z: 20 });
    const errors = ev('app', 'span errors', { source: 'span', kind: 'errors' });
    expect(
      nameMechanism({ service: 'app', evidence: [outbound, errors], events: [], incidentEvidence: [] }) ?? '',
    ).not.toMatch(/retry/);
  });
});
