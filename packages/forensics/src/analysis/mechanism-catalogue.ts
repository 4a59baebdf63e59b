/**
 * Names the mechanism of a cause in plain words when its evidence matches a scenario of the
 * catalogue (../shared/SCENARIOS.md): the trigger and what sustained it. Matching is on signal
 * kinds and names (pool, heap, event loop, ejection, client retries), not on service names.
 */
import type { SignalOnset } from './analysis-types.js';
import { PROTECTION } from './cause-ranking.js';

export interface MechanismInput {
  readonly evidence: readonly SignalOnset[];
  /** Event kinds seen in the incident (e.g. `lb.eject`) with the services they concern. */
  readonly events: ReadonlyArray<{
    readonly kind: string;
    readonly service: string | null;
    /** What the event is about, when not its service (the backend a load balancer ejected). */
    readonly target?: string | null;
    readonly timeMs?: number;
  }>;
  /** Other services' evidence in the incident (for "all at once" patterns). */
  readonly incidentEvidence: readonly SignalOnset[];
  /** Evidence of the services that call this one (a dependency's effect shows in its callers). */
  readonly callerEvidence?: readonly SignalOnset[];
  /** The service the cause names (to match events that concern it). */
  readonly service?: string;
  /** The service is a database seen from its callers' queries (a virtual node). */
  readonly database?: boolean;
}

const has = (ev: readonly SignalOnset[], re: RegExp, dir: 'up' | 'down' = 'up') =>
  ev.some((e) => e.direction === dir && e.z >= 4 && re.test(e.name));
const kind = (ev: readonly SignalOnset[], k: SignalOnset['kind'], dir: 'up' | 'down' = 'up') =>
  ev.some((e) => e.kind === k && e.direction === dir && e.z >= 4);

/** When the first strong, rising piece of evidence matching `pred` moved (Infinity: none). */
const firstAt = (ev: readonly SignalOnset[], pred: (e: SignalOnset) => boolean) =>
  ev.reduce((t, e) => (e.direction === 'up' && e.z >= 4 && pred(e) ? Math.min(t, e.onsetMs) : t), Infinity);

/** When the service's own slowness (latency, self time) was out, from its strong evidence. */
function triggerSpan(ev: readonly SignalOnset[]): { fromMs: number; toMs: number } | undefined {
  let fromMs = Number.POSITIVE_INFINITY;
  let toMs = Number.NEGATIVE_INFINITY;
  for (const e of ev)
    if (
      (e.kind === 'latency' || e.kind === 'self-time') &&
      e.direction === 'up' &&
      e.z >= 8 &&
      e.lastMs !== undefined
    ) {
      fromMs = Math.min(fromMs, e.onsetMs);
      toMs = Math.max(toMs, e.lastMs);
    }
  return Number.isFinite(fromMs) ? { fromMs, toMs } : undefined;
}

/** How much later than a service's first slowdown or failure its job may show and still be the trigger. */
const JOB_LEAD_TOLERANCE_MS = 5000;

/** A background job running (started, in progress), not one that slowed down or failed. */
function jobRan(e: SignalOnset): boolean {
  return /job|batch|cron/i.test(e.name) && !/duration|seconds|latency|fail|error/i.test(e.name);
}

/** The mechanism in plain words, or null when the evidence matches no catalogued scenario. */
export function nameMechanism(input: MechanismInput): string | null {
  const ev = input.evidence;
  // What moved first tells a trigger from its consequence: held requests piling up behind a
  // saturated pool or queue also grow the heap, and a batch job's own queries fill the pool.
  const queuedAt = firstAt(ev, (e) => e.kind === 'saturation');
  const memoryAt = firstAt(ev, (e) => e.kind === 'memory' || /heap/i.test(e.name));
  // a job that started (runs, in progress), not one that slowed down or failed with everything else
  const jobAt = firstAt(ev, jobRan);
  const ejections = input.events.filter((e) => /eject|unhealthy|health.*fail/i.test(e.kind));
  const ejectedServices = new Set(ejections.map((e) => e.target ?? e.service));
  // every node ejected at once (within seconds), because its health check *answered* failure (a
  // 503 from a health endpoint that checks the database), not because it was too slow to answer
  const firstEjection = new Map<string, number>();
  for (const e of ejections) {
    const key = e.target ?? e.service ?? '';
    const t = e.timeMs ?? 0;
    if (t < (firstEjection.get(key) ?? Number.POSITIVE_INFINITY)) firstEjection.set(key, t);
  }
  const times = [...firstEjection.values()];
  const atOnce = times.length > 1 && Math.max(...times) - Math.min(...times) <= 5000;
  const healthAnsweredFailure = input.incidentEvidence.some(
    (e) => e.kind === 'errors' && e.z >= 4 && /health/i.test(e.name) && !/timeout/i.test(e.name),
  );
  // and the trigger failed (refused, errored) rather than slowed down: a blip, not an overload
  const failedAt = firstAt(ev, (e) => e.kind === 'errors');
  const slowedAt = firstAt(ev, (e) => e.kind === 'latency' || e.kind === 'self-time');
  // A job is the trigger only if it ran before the service's own trouble began (or with it: a
  // job's metrics are scraped, its requests' spans are not): jobs that pile up in a service that
  // stalled for another reason (a leak's GC pauses) are a consequence.
  const jobFirst = jobAt <= Math.min(failedAt, slowedAt) + JOB_LEAD_TOLERANCE_MS;
  if (
    ejectedServices.size > 1 &&
    atOnce &&
    healthAnsweredFailure &&
    failedAt <= slowedAt &&
    failedAt < Infinity &&
    // (a job of the service that started by then is the trigger: its queries hold the pool that
    // the deep health checks then wait on)
    jobAt > failedAt &&
    has(input.incidentEvidence, /pool|db|query|postgres/i)
  )
    return 'deep health check: a dependency blip failed every node’s health check at once and the load balancer ejected them all';
  // an instance that went down (its scrape target, `up`) or whose process crashed or was killed
  const wentDown =
    kind(ev, 'availability', 'down') ||
    input.events.some((e) => /crash|oom|killed/i.test(e.kind) && e.service === input.service);
  if (memoryAt < Infinity && memoryAt <= queuedAt) {
    if (kind(ev, 'gc') || has(ev, /eventloop|event_loop/i))
      return ejections.length > 0
        ? 'memory leak → GC pauses stall the event loop → health checks time out → the load balancer ejects the instance and survivors overload'
        : 'memory leak → GC pauses stall the event loop → latency rises';
    if (wentDown)
      return 'memory leak → the instance runs out of memory and dies → its requests fail and its load moves to the survivors, which queue';
  }
  if (has(ev, /retr|attempt/i) && (kind(ev, 'errors') || kind(ev, 'latency')))
    return 'retry storm: timeouts trigger client retries that add load and keep the system overloaded after the trigger';
  // A trigger that stopped while its victims kept failing for much longer than it lasted, with
  // client retries up: what sustained the incident was the retries, not the trigger.
  const slowSpan = triggerSpan(ev);
  if (slowSpan !== undefined && has(input.incidentEvidence, /retr|attempt/i) && !has(ev, /retr|attempt/i)) {
    const victimsEnd = input.incidentEvidence.reduce(
      (t, e) =>
        e.service !== input.service && e.kind === 'errors' && e.z >= 5 && e.lastMs !== undefined
          ? Math.max(t, e.lastMs)
          : t,
      Number.NEGATIVE_INFINITY,
    );
    // twice as long as the trigger lasted: victims of a slow dependency take a while to drain
    // their queues in any case
    if (victimsEnd - slowSpan.toMs >= Math.max(10_000, 2 * (slowSpan.toMs - slowSpan.fromMs)))
      return 'retry storm: the dependency slowed down briefly; timeouts triggered client retries that added load and kept the system overloaded long after it recovered';
  }
  const ownLatency = ev.some(
    (e) => (e.kind === 'self-time' || (e.kind === 'latency' && e.caller !== undefined)) && e.z >= 4,
  );
  // A dependency that slowed down or failed while its callers' defences engaged (a breaker opened,
  // fallbacks or degraded answers served, load shed) and their pools did not fill: the trigger
  // happened, the cascade did not.
  if (
    (ownLatency || kind(ev, 'errors')) &&
    has(input.callerEvidence ?? [], PROTECTION) &&
    !has(input.callerEvidence ?? [], /pool.*(in_use|waiting|pending)|waiting/i)
  )
    return 'slow or failing dependency, contained: its callers’ defences (timeouts, circuit breaker, fallbacks, shedding) cut the calls short and answered without it';
  // A dependency that slowed down or failed while its callers' connection pools filled: the
  // database is the trigger, the pools the mechanism (in use = rate × latency).
  if (
    input.database === true &&
    (ownLatency || kind(ev, 'errors')) &&
    has(input.callerEvidence ?? [], /pool|waiting/i)
  )
    return 'slow or failing database → connection pool saturation in its callers: calls to it lengthened or failed first, connections were held longer (in use = rate × latency) and requests queued for one';
  if (jobAt < Infinity && jobAt <= queuedAt && jobFirst)
    return 'background job at peak: a batch job contends for the database with user traffic';
  if (has(ev, /pool.*(in_use|waiting|pending)|waiting|pool/i))
    return 'connection pool saturation: slow queries hold every connection (in use = rate × latency) and requests queue for one';
  if (ev.some(jobRan) && jobFirst)
    return 'background job at peak: a batch job contends for the database with user traffic';
  if (kind(ev, 'cpu') && !kind(ev, 'memory'))
    return 'CPU saturation in the service (contention or a hot loop) slows every request it serves';
  if (kind(ev, 'memory')) return 'memory growth in the service (a leak or a hog) until it slows or is killed';
  if (ownLatency)
    return 'slow dependency without a timeout: calls to the service lengthened first and callers waited on them';
  if (kind(ev, 'log-template') || kind(ev, 'errors')) {
    // "propagated" only when a caller's own failures or slowness show it
    const callersHit =
      kind(input.callerEvidence ?? [], 'errors') || kind(input.callerEvidence ?? [], 'latency');
    return callersHit
      ? 'errors raised in the service (an exception or a wrong return) propagated to its callers'
      : 'errors raised in the service (an exception, a failing operation or a wrong return)';
  }
  return null;
}
