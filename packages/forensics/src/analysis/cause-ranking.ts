/**
 * Ranking root-cause candidates. Each service's evidence is the signals that moved in the
 * incident, weighted by kind: resource and self-inflicted signals (CPU, memory, GC, pools, self
 * time, its own new log templates) are intrinsic; latency, errors and traffic also propagate to
 * callers. Along the dependency graph (caller → callee, from traces) a service's propagating
 * evidence is discounted by what an anomalous callee that moved no later explains — the origin
 * keeps its score, its victims lose theirs.
 */
import type { SignalOnset } from './analysis-types.js';
import type { SignalKind } from './signal.js';

const KIND_WEIGHT: Readonly<Record<SignalKind, number>> = {
  cpu: 1,
  memory: 1,
  gc: 0.9,
  saturation: 1,
  'self-time': 1,
  'log-template': 0.9,
  errors: 0.8,
  latency: 0.7,
  availability: 0.7,
  traffic: 0.25,
  other: 0.2,
};

const PROPAGATING: ReadonlySet<SignalKind> = new Set(['latency', 'errors', 'availability', 'traffic']);

/** Evidence that requests fail (rather than slow down). */
function isFailure(o: SignalOnset): boolean {
  return (
    o.kind === 'errors' ||
    o.kind === 'availability' ||
    (o.kind === 'log-template' && /error|fatal|warn/.test(o.name))
  );
}

/**
 * A template that appears or surges at error level is the fault speaking (the exception it
 * throws); one at info level mostly says the mix of work changed (more cancellations, a batch):
 * worth seeing, weak as blame.
 */
function templateWeight(name: string): number {
  if (/^(error|fatal) /.test(name)) return 1;
  if (/^warn /.test(name)) return 0.8;
  return 0.45;
}

/**
 * A resilience mechanism reacting (a circuit breaker opening or rejecting, a fallback or a degraded
 * answer served, load shed, a bulkhead full, a pool that gave up waiting for a connection instead
 * of queueing forever): the service defending itself against something it depends on. It says
 * that something failed, not that the service did.
 */
export const PROTECTION = /breaker|circuit|fallback|degraded|shed|bulkhead|acquire.?timeout|pool.?guard/i;

/** Evidence of one signal: grows with the log of its shift beyond 3 σ. */
export function evidenceWeight(o: SignalOnset, traced?: ReadonlySet<string>): number {
  let w = o.kind === 'log-template' ? templateWeight(o.name) : KIND_WEIGHT[o.kind];
  // A pre-aggregated latency quantile (a pod's p99 per minute, over an unknown and often tiny
  // number of requests) says less than the spans of the same service, when we have them.
  if (o.source === 'metric' && o.kind === 'latency' && traced?.has(o.service) === true) w *= 0.5;
  // Client-side latency (a pod's outgoing calls, `http.client.duration`) measures the services
  // it calls more than the pod itself.
  if (o.source === 'metric' && o.kind === 'latency' && /client/i.test(o.name)) w *= 0.5;
  // Host-level metrics (node CPU) are shared with neighbours: weak evidence about one service.
  if (/^node/i.test(o.name)) w *= 0.3;
  // Calls into a service measured at the edge speak for the callee, but less than its own spans.
  if (o.caller !== undefined) w *= 0.8;
  // A defence that kicked in points at a dependency: weak blame for the service that defends.
  if (PROTECTION.test(o.name)) w *= 0.25;
  return w * Math.log1p(Math.max(0, o.z - 3));
}

export interface RankedService {
  readonly service: string;
  readonly score: number;
  readonly intrinsic: number;
  readonly propagated: number;
  readonly explainedBy: string | null;
  readonly evidence: SignalOnset[];
  readonly onsetMs: number;
}

/** Sum of the best evidence per (kind, source): many copies of one symptom count once. */
function families(
  evidence: readonly SignalOnset[],
  propagating: boolean,
  traced: ReadonlySet<string> | undefined,
  only?: (o: SignalOnset) => boolean,
): number {
  const best = new Map<string, number[]>();
  for (const o of evidence) {
    if (PROPAGATING.has(o.kind) !== propagating || (only !== undefined && !only(o))) continue;
    const key = `${o.kind}|${o.source}|${o.caller === undefined ? '' : 'edge'}`;
    let list = best.get(key);
    if (list === undefined) {
      list = [];
      best.set(key, list);
    }
    list.push(evidenceWeight(o, traced));
  }
  // The best of each family counts fully; more of the same (several callers seeing one callee
  // slow) adds a little, so one symptom repeated does not outweigh different symptoms.
  let sum = 0;
  for (const list of best.values()) {
    list.sort((a, b) => b - a);
    list.forEach((v, i) => {
      sum += i === 0 ? v : 0.25 * v;
    });
  }
  return sum;
}

export interface RankOptions {
  /** A callee explains a caller when it moved no later than this after the caller; default 60 s. */
  readonly toleranceMs?: number;
  /** Services whose spans we hold: their pre-aggregated latency quantiles weigh less. */
  readonly traced?: ReadonlySet<string>;
}

/** Background work, by name: a job, a batch, a cron or scheduled task. */
const JOB = /job|batch|cron|scheduled|background/i;

/** Added latency from which a callee makes its callers' requests time out (common timeouts: 1–30 s). */
const TIMEOUT_SCALE_MS = 1000;

const isGap = (o: SignalOnset) => o.name.startsWith('wait around calls');

/**
 * Evidence of a caller queueing (a pool, a queue, requests in flight; its own time growing) that a
 * callee which slowed down or failed before it accounts for: by Little's law, what is held or
 * waiting grows as rate × latency of the calls it guards. A queue counts only after the callee
 * moved; the caller's own time also when they moved together, if the callee added more latency
 * than the caller did; the caller's own error reports once a callee that fails had moved first.
 */
function waitExplained(
  e: SignalOnset,
  callee: { onsetMs: number; slowMs: number; failing: boolean },
  queued: boolean,
): boolean {
  if (e.caller !== undefined) return false;
  // A breaker that opened, fallbacks or shedding once a callee began failing or slowing: the
  // caller's defences against it.
  if (PROTECTION.test(e.name)) return (callee.failing || callee.slowMs > 0) && callee.onsetMs <= e.onsetMs;
  // Errors the caller logs about calls that fail (`fetch failed`) once the callee began failing.
  // (in the same step too: the report of a refused call is logged as the call fails)
  if (isFailure(e)) return callee.failing && callee.onsetMs <= e.onsetMs;
  // a pool fills within a step once calls take long enough (in use = rate × latency): a tie counts
  if (e.kind === 'saturation') return callee.onsetMs <= e.onsetMs;
  // Queued behind the callee, whatever else of the caller moved after it (a job stuck on the
  // pool like every request, cache traffic shifting) is part of the wait; so is what it did once
  // a callee it needs had failed (reconnecting, serving from its cache, the backlog of held and
  // retried requests arriving at once when the callee returned).
  if (e.kind === 'other') return (queued || callee.failing) && callee.onsetMs < e.onsetMs;
  if (e.kind !== 'self-time' || isGap(e) || callee.onsetMs > e.onsetMs) return false;
  if (callee.failing && callee.onsetMs < e.onsetMs) return true;
  // Behind a saturated pool or queue the wait grows far beyond the callee's own slowdown
  // (queueing delay diverges as utilisation nears 1): the caller's time is then the callee's.
  return queued || callee.slowMs >= e.after - e.before;
}

/**
 * How much latency a service added, in ms, as its spans measure it (its entry latency, or its
 * callers' calls to it; time waiting around calls to it): the largest rise among that evidence,
 * NaN without span latency evidence.
 */
function addedLatencyMs(evidence: readonly SignalOnset[]): number {
  let ms = Number.NaN;
  for (const e of evidence)
    if (e.source === 'span' && e.direction === 'up' && (e.kind === 'latency' || isGap(e))) {
      const d = e.after - e.before;
      if (Number.isFinite(d) && !(d <= ms)) ms = d;
    }
  return ms;
}

/**
 * Delay on the path between a caller and a callee (the caller waited longer than the callee
 * worked) can sit at either end: a slow network on the callee's host delays its callers, one on
 * the caller's host delays its calls out. The end shared by more of the delayed paths is the
 * likelier place, as in network tomography: a gap is filed under its caller when the caller
 * lies on more delayed paths than the callee, else under the callee.
 */
export function fileGapsAtCommonEndpoint(onsets: readonly SignalOnset[]): SignalOnset[] {
  const edges = new Map<string, Set<string>>();
  const touch = (service: string, edge: string) => {
    let set = edges.get(service);
    if (set === undefined) {
      set = new Set();
      edges.set(service, set);
    }
    set.add(edge);
  };
  for (const o of onsets)
    if (isGap(o) && o.caller !== undefined && o.z >= 5) {
      touch(o.caller, `${o.caller}→${o.service}`);
      touch(o.service, `${o.caller}→${o.service}`);
    }
  const paths = (service: string) => edges.get(service)?.size ?? 0;
  return onsets.map((o) =>
    isGap(o) && o.caller !== undefined && paths(o.caller) > paths(o.service)
      ? { ...o, service: o.caller }
      : o,
  );
}

/** Every service reachable from `service` along caller → callee edges, itself excluded. */
function descendants(service: string, callees: ReadonlyMap<string, ReadonlySet<string>>): Set<string> {
  const seen = new Set<string>();
  const todo = [...(callees.get(service) ?? [])];
  while (todo.length > 0) {
    const c = todo.pop() as string;
    if (c === service || seen.has(c)) continue;
    seen.add(c);
    todo.push(...(callees.get(c) ?? []));
  }
  return seen;
}

/**
 * Services ranked as root-cause candidates, best first.
 * @example rankServices(onsets, [{ caller: 'api', callee: 'db', count: 10 }])[0]?.service
 */
export function rankServices(
  onsets: readonly SignalOnset[],
  dependencies: ReadonlyArray<{ readonly caller: string; readonly callee: string }>,
  options: RankOptions = {},
): RankedService[] {
  const toleranceMs = options.toleranceMs ?? 60_000;
  const traced = options.traced;
  const byService = new Map<string, SignalOnset[]>();
  for (const o of fileGapsAtCommonEndpoint(onsets)) {
    if (o.z < 3) continue;
    let list = byService.get(o.service);
    if (list === undefined) {
      list = [];
      byService.set(o.service, list);
    }
    list.push(o);
  }
  // A caller's own self time that rose only around calls to one callee is the callee's (or the
  // path's) delay, unless the caller is also slower where it calls nobody (then it is the caller).
  const leafZ = new Map<string, number>();
  for (const o of onsets) if (o.name.startsWith('self time p90 (spans without')) leafZ.set(o.service, o.z);
  const gapFrom = new Map<string, number>();
  for (const [service, list] of byService) {
    const kept = list.filter((o) => {
      if (!isGap(o) || o.caller === undefined || o.caller === service) return true;
      const ok = (leafZ.get(o.caller) ?? 0) < 0.3 * o.z;
      if (ok) gapFrom.set(o.caller, Math.max(gapFrom.get(o.caller) ?? 0, o.z));
      return ok;
    });
    byService.set(service, kept);
  }
  for (const [service, list] of byService) {
    const gap = gapFrom.get(service);
    if (gap === undefined) continue;
    byService.set(
      service,
      list.filter(
        (o) =>
          !(
            o.kind === 'self-time' &&
            o.caller === undefined &&
            !o.name.includes('without') &&
            o.z <= 2 * gap
          ),
      ),
    );
  }
  const raw = new Map<
    string,
    {
      intrinsic: number;
      propagated: number;
      failing: number;
      failingOwn: number;
      onsetMs: number;
      stepMs: number;
      slowMs: number;
      evidence: SignalOnset[];
    }
  >();
  for (const [service, evidence] of byService) {
    evidence.sort((a, b) => evidenceWeight(b, traced) - evidenceWeight(a, traced));
    // The service's onset: when its strong evidence moved (a weak coarse metric that barely
    // crossed its threshold two minutes early says little about when the service changed).
    // A change in how much it is called (a surge of catch-up calls once it recovered) says
    // nothing about when it changed itself, unless that is all there is.
    const own = evidence.filter((e) => e.kind !== 'traffic');
    const timed = own.length > 0 ? own : evidence;
    const maxZ = Math.max(...timed.map((e) => e.z));
    const strong = timed.filter((e) => e.z >= Math.max(5, 0.5 * maxZ));
    const onsetMs = Math.min(...(strong.length > 0 ? strong : timed).map((e) => e.onsetMs));
    raw.set(service, {
      intrinsic: families(evidence, false, traced),
      propagated: families(evidence, true, traced),
      // Failures propagate as failures: a caller's errors are explained by a callee that fails,
      // not by one that is merely slow (and the other way round).
      failing: families(evidence, true, traced, isFailure),
      failingOwn: families(evidence, false, traced, isFailure),
      onsetMs,
      // the resolution of that onset
      stepMs: Math.min(...(strong.length > 0 ? strong : timed).map((e) => e.stepMs)),
      slowMs: addedLatencyMs(evidence),
      evidence,
    });
  }
  const callees = new Map<string, Set<string>>();
  for (const d of dependencies) {
    if (d.caller === d.callee) continue;
    let set = callees.get(d.caller);
    if (set === undefined) {
      set = new Set();
      callees.set(d.caller, set);
    }
    set.add(d.callee);
  }
  // A callee that slowed down no earlier than a caller started background work (a batch job, a
  // cron task) that calls it was slowed by that work — the load is the caller's. (A job that
  // started after the callee slowed is a victim like any request.)
  const loadBy = new Map<string, string>();
  for (const [service, r] of raw)
    for (const [caller, set] of callees) {
      if (!set.has(service) || caller === service) continue;
      const started = raw.get(caller)?.evidence.some(
        (e) =>
          e.kind === 'other' &&
          e.direction === 'up' &&
          e.z >= 8 &&
          JOB.test(e.name) &&
          !/duration|seconds|latency/i.test(e.name) &&
          // work that was (nearly) absent before, not a routine job that got stuck
          e.before <= 0.1 * e.after &&
          // in the same step at the latest (grids of metrics and spans need not line up)
          e.onsetMs <= r.onsetMs + e.stepMs,
      );
      if (started === true) loadBy.set(service, caller);
    }
  const out: RankedService[] = [];
  for (const [service, r] of raw) {
    const driver = loadBy.get(service);
    if (driver !== undefined) {
      out.push({
        service,
        score: 0.2 * (r.intrinsic + r.propagated),
        intrinsic: 0.2 * r.intrinsic,
        propagated: 0.2 * r.propagated,
        explainedBy: driver,
        evidence: r.evidence,
        onsetMs: r.onsetMs,
      });
      continue;
    }
    let explainedFail = 0;
    let explainedSlow = 0;
    let explainedWait = 0;
    let waitBy: ((e: SignalOnset) => boolean) | null = null;
    let explainedBy: string | null = null;
    let best = 0;
    const ownResourceAt = r.evidence.reduce(
      (t, e) =>
        (e.kind === 'cpu' || e.kind === 'memory' || e.kind === 'gc') && e.direction === 'up' && e.z >= 8
          ? Math.min(t, e.onsetMs)
          : t,
      Number.POSITIVE_INFINITY,
    );
    // queued behind a callee that slowed first: what it explains is explained in full
    let wholly = false;
    // the caller queued: a pool or queue of its own saturated during the incident
    const queued = r.evidence.some((e) => e.kind === 'saturation' && e.direction === 'up' && e.z >= 8);
    /** The evidence of this service that callee `c` explains as waiting on it (the best one counts). */
    const weighWait = (c: string, explains: (e: SignalOnset) => boolean): number => {
      const wait = families(r.evidence, false, traced, explains);
      if (wait > explainedWait) {
        explainedWait = wait;
        waitBy = explains;
      }
      if (wait > best) {
        best = wait;
        explainedBy = c;
      }
      return wait;
    };
    for (const c of callees.get(service) ?? []) {
      const rc = raw.get(c);
      // a callee this service's own background work slowed down explains nothing of it
      if (rc === undefined || loadBy.get(c) === service) continue;
      // nor does one that moved only after this service's own CPU, memory or GC did (beyond a
      // step): a stalled process makes its calls out look slow and its pool fill, and the load it
      // sheds onto its peers slows what they share
      if (rc.onsetMs > ownResourceAt + rc.stepMs) continue;
      const callee = { onsetMs: rc.onsetMs, slowMs: rc.slowMs, failing: rc.failing + rc.failingOwn > 0 };
      const wait = weighWait(c, (e) => waitExplained(e, callee, queued));
      if (rc.onsetMs > r.onsetMs + toleranceMs) continue;
      const fail = rc.failing + rc.failingOwn;
      // A callee explains a caller's slowness only as far as its own added latency reaches: 5 ms
      // more in a callee does not account for 150 ms more in its caller.
      // Behind a saturated pool, though, the caller's wait grows far beyond what the callee added
      // (queueing delay diverges as utilisation nears 1): all of it is the callee's.
      const share =
        queued && rc.onsetMs <= r.onsetMs
          ? 1
          : r.slowMs > 0 && Number.isFinite(rc.slowMs)
            ? Math.min(1, Math.max(0, rc.slowMs) / r.slowMs)
            : 1;
      const slow = (rc.intrinsic + rc.propagated - fail) * share;
      // A callee that slowed down first by more than a timeout allows (a second or more), or
      // while the caller queued for it, also accounts for the failures its callers report after
      // it: requests that timed out on it.
      // Queued behind it, the caller's failures may start in the very step the callee slowed (a
      // pool of 10 at 40 calls/s fills within a second once calls take 600 ms): a tie counts.
      // (onsets one step apart are a tie: buckets of different signals need not line up)
      const noLater = rc.onsetMs <= r.onsetMs + rc.stepMs;
      // A caller whose defences engaged once the callee slowed (a pool that gave up waiting, a
      // breaker that opened) has timeouts shorter than the callee's added latency: its failures
      // are the calls that timed out on the callee, however little the callee added.
      const defended =
        rc.slowMs > 0 &&
        noLater &&
        rc.onsetMs <= ownResourceAt &&
        r.evidence.some(
          (e) => PROTECTION.test(e.name) && e.direction === 'up' && e.z >= 8 && e.onsetMs >= rc.onsetMs,
        );
      const timedOut =
        rc.slowMs > 0 &&
        (defended ||
          (rc.slowMs >= TIMEOUT_SCALE_MS ? rc.onsetMs < r.onsetMs : queued && rc.onsetMs <= r.onsetMs))
          ? slow
          : 0;
      // Queued behind a callee that slowed first (or in the same step), all of the caller's
      // slowness and failures are the wait for it, however much evidence the caller piled up
      // (three instances' metrics against the callee's few span signals).
      // (unless its own CPU, memory or GC moved before the callee did: a stalled process makes its
      // calls out look slow too)
      const behind = (queued || defended) && rc.slowMs > 0 && noLater && rc.onsetMs <= ownResourceAt;
      // A callee that began failing no later than the caller did (a database refusing
      // connections) accounts for all the caller's failures: they are its failures, reported.
      const failedFirst = fail > 0 && noLater && rc.onsetMs <= ownResourceAt;
      if (behind || failedFirst) wholly = true;
      explainedFail = Math.max(explainedFail, fail, timedOut, behind || failedFirst ? r.failing : 0);
      // (a caller of a failing callee slows down too: connect timeouts, retries)
      explainedSlow = Math.max(explainedSlow, slow, behind || failedFirst ? r.propagated - r.failing : 0);
      if (fail + slow + wait > best) {
        best = fail + slow + wait;
        explainedBy = c;
      }
    }
    // A queue grows as rate × latency of the calls it guards, and the latency of a call includes
    // everything behind the callee: a service further down that slowed or failed first explains the
    // caller's queueing too (a client's requests in flight behind a load balancer, behind the apps,
    // behind a locked table), even when the services in between moved later.
    for (const c of descendants(service, callees)) {
      if ((callees.get(service) ?? new Set()).has(c)) continue;
      const rc = raw.get(c);
      if (rc === undefined || loadBy.get(c) === service || rc.onsetMs > ownResourceAt + rc.stepMs) continue;
      const callee = { onsetMs: rc.onsetMs, slowMs: rc.slowMs, failing: rc.failing + rc.failingOwn > 0 };
      weighWait(c, (e) => e.kind !== 'self-time' && waitExplained(e, callee, queued));
    }
    const k = wholly ? 1 : 0.8;
    const intrinsic = r.intrinsic - k * explainedWait;
    const ownFail = r.failing;
    const ownSlow = r.propagated - r.failing;
    const propagated = Math.max(0, ownFail - k * explainedFail) + Math.max(0, ownSlow - k * explainedSlow);
    // Independent kinds of evidence (metrics, spans, logs) agreeing make a cause more credible
    // than one source shouting: a pre-aggregated latency quantile can spike on three requests.
    // Only evidence that still stands counts: a symptom a callee explained does not corroborate.
    const keptFail = ownFail - 0.8 * explainedFail > 0.25 * ownFail;
    const keptSlow = ownSlow - 0.8 * explainedSlow > 0.25 * ownSlow;
    const standing = r.evidence.filter(
      (e) =>
        e.z >= 5 &&
        (PROPAGATING.has(e.kind) ? (isFailure(e) ? keptFail : keptSlow) : waitBy === null || !waitBy(e)),
    );
    const sources = new Set(standing.map((e) => e.source)).size;
    const score = (intrinsic + propagated) * (1 + 0.25 * Math.max(0, sources - 1));
    out.push({
      service,
      score,
      intrinsic,
      propagated,
      explainedBy: best > 0 && (propagated < r.propagated || explainedWait > 0) ? explainedBy : null,
      evidence: r.evidence,
      onsetMs: r.onsetMs,
    });
  }
  out.sort((a, b) => b.score - a.score || a.onsetMs - b.onsetMs || (a.service < b.service ? -1 : 1));
  return out;
}
