/**
 * Names the mechanism of a cause in plain words when its evidence matches a scenario of the
 * catalogue (../shared/SCENARIOS.md): the trigger and what sustained it. Matching is on signal
 * kinds and names (pool, heap, event loop, ejection, client retries), not on service names.
 */
import type { SignalOnset } from './analysis-types.js';

export interface MechanismInput {
  readonly evidence: readonly SignalOnset[];
  /** Event kinds seen in the incident (e.g. `lb.eject`) with the services they concern. */
  readonly events: ReadonlyArray<{ readonly kind: string; readonly service: string | null }>;
  /** Other services' evidence in the incident (for "all at once" patterns). */
  readonly incidentEvidence: readonly SignalOnset[];
  /** Evidence of the services that call this one (a dependency's effect shows in its callers). */
  readonly callerEvidence?: readonly SignalOnset[];
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

/** The mechanism in plain words, or null when the evidence matches no catalogued scenario. */
export function nameMechanism(input: MechanismInput): string | null {
  const ev = input.evidence;
  // What moved first tells a trigger from its consequence: held requests piling up behind a
  // saturated pool or queue also grow the heap, and a batch job's own queries fill the pool.
  const queuedAt = firstAt(ev, (e) => e.kind === 'saturation');
  const memoryAt = firstAt(ev, (e) => e.kind === 'memory' || /heap/i.test(e.name));
  // a job that started (runs, in progress), not one that slowed down with everything else
  const jobAt = firstAt(
    ev,
    (e) => /job|batch|cron/i.test(e.name) && !/duration|seconds|latency/i.test(e.name),
  );
  const ejections = input.events.filter((e) => /eject|unhealthy|health.*fail/i.test(e.kind));
  const ejectedServices = new Set(ejections.map((e) => e.service));
  if (
    ejections.length > 0 &&
    ejectedServices.size > 1 &&
    has(input.incidentEvidence, /pool|db|query|postgres/i)
  )
    return 'deep health check: a dependency blip failed every node’s health check at once and the load balancer ejected them all';
  if (memoryAt < Infinity && memoryAt <= queuedAt && (kind(ev, 'gc') || has(ev, /eventloop|event_loop/i)))
    return ejections.length > 0
      ? 'memory leak → GC pauses stall the event loop → health checks time out → the load balancer ejects the instance and survivors overload'
      : 'memory leak → GC pauses stall the event loop → latency rises';
  if (has(ev, /client_requests|retr|attempt/i) && (kind(ev, 'errors') || kind(ev, 'latency')))
    return 'retry storm: timeouts trigger client retries that add load and keep the system overloaded after the trigger';
  const ownLatency = ev.some(
    (e) => (e.kind === 'self-time' || (e.kind === 'latency' && e.caller !== undefined)) && e.z >= 4,
  );
  // A dependency that slowed down or failed while its callers' connection pools filled: the
  // database is the trigger, the pools the mechanism (in use = rate × latency).
  if (
    input.database === true &&
    (ownLatency || kind(ev, 'errors')) &&
    has(input.callerEvidence ?? [], /pool|waiting/i)
  )
    return 'slow or failing database → connection pool saturation in its callers: calls to it lengthened or failed first, connections were held longer (in use = rate × latency) and requests queued for one';
  if (jobAt < Infinity && jobAt <= queuedAt)
    return 'background job at peak: a batch job contends for the database with user traffic';
  if (has(ev, /pool.*(in_use|waiting|pending)|waiting|pool/i))
    return 'connection pool saturation: slow queries hold every connection (in use = rate × latency) and requests queue for one';
  if (has(ev, /job|batch|cron/i))
    return 'background job at peak: a batch job contends for the database with user traffic';
  if (kind(ev, 'cpu') && !kind(ev, 'memory'))
    return 'CPU saturation in the service (contention or a hot loop) slows every request it serves';
  if (kind(ev, 'memory')) return 'memory growth in the service (a leak or a hog) until it slows or is killed';
  if (ownLatency)
    return 'slow dependency without a timeout: calls to the service lengthened first and callers waited on them';
  if (kind(ev, 'log-template') || kind(ev, 'errors'))
    return 'errors raised in the service (an exception or a wrong return) propagated to its callers';
  return null;
}
