import {
  decorrelatedJitter,
  type ExecuteContext,
  ManualClock,
  type Policy,
  RetryBudget,
  retry,
  timeout,
  wrap,
} from '@faultline/resilience';
import { seededRandom } from './seeded-random.js';
import { ServerModel } from './server-model.js';

/** `naive`: timeout + immediate retries. `hardened`: timeout + capped jittered backoff + retry budget. */
export type RetryPolicyKind = 'naive' | 'hardened';

/** A capacity drop: from `startS` for `durationS` seconds the server keeps `capacityShare` of its workers. */
export interface CapacityTrigger {
  readonly startS: number;
  readonly durationS: number;
  readonly capacityShare: number;
}

export interface RetryStormOptions {
  readonly policy: RetryPolicyKind;
  /** seed of every random draw (service times, jitter); default 1 */
  readonly seed?: number;
  /** simulated seconds of arrivals; default 80 */
  readonly durationS?: number;
  /** logical requests per second, evenly spaced (open loop); default 100 */
  readonly ratePerS?: number;
  /** server workers; default 12 */
  readonly workers?: number;
  /** mean service time (uniform in ±50 %); default 100 ms, so capacity = 12 / 0.1 s = 120/s */
  readonly serviceMs?: number;
  /** default: 75 % of capacity lost from 10 s to 20 s; `null` for none */
  readonly trigger?: CapacityTrigger | null;
  /** per-attempt timeout; default 500 ms */
  readonly attemptTimeoutMs?: number;
  /** the client's deadline for a logical request, retries included; default 2000 ms */
  readonly clientDeadlineMs?: number;
  /** default 3 */
  readonly maxRetries?: number;
  /** hardened only: retries allowed as a share of calls; default 0.1 */
  readonly budgetRatio?: number;
  /** hardened only: retries always allowed per second; default 1 */
  readonly budgetMinRetriesPerSecond?: number;
  /** skip queued attempts whose client has gone (see `ServerModel`); default true */
  readonly dropAbandonedQueued?: boolean;
}

export type ResolvedRetryStormOptions = Required<Omit<RetryStormOptions, 'trigger'>> & {
  readonly trigger: CapacityTrigger | null;
};

/** What happened in one simulated second. */
export interface SecondStats {
  readonly second: number;
  /** logical requests that arrived */
  readonly offered: number;
  /** attempts sent to the server (first tries and retries) */
  readonly attempts: number;
  /** of the requests that arrived this second: successes within the client deadline */
  readonly good: number;
  /** requests the server finished while the client still waited */
  readonly served: number;
  /** requests the server finished after the client had given up on them */
  readonly wasted: number;
  /** busy worker time / available worker time (at most 1: requests finishing on removed workers overflow) */
  readonly utilisation: number;
  /** requests waiting for a worker at the end of the second */
  readonly queue: number;
  /** workers available, averaged over the second */
  readonly workers: number;
}

export interface RetryStormSummary {
  /** good / offered for the seconds before, during and after the trigger (whole run without one) */
  readonly availability: { readonly before: number; readonly during: number; readonly after: number };
  /** attempts per logical request from the trigger's start to the end of the run */
  readonly amplification: number;
  /** highest attempts per logical request in any second */
  readonly peakAmplification: number;
  /** share of the server's finished work, from the trigger's start, that nobody waited for */
  readonly wastedShare: number;
  /** whether goodput returned to ≥ 90 % of offered and stayed there to the end (5 s at least) */
  readonly recovered: boolean;
  /** seconds from the end of the trigger until goodput stays ≥ 90 % of offered; null if never */
  readonly recoverySeconds: number | null;
  /** availability from the recovery point to the end; null if never recovered */
  readonly availabilityAfterRecovery: number | null;
  readonly requests: number;
  readonly attempts: number;
}

export interface RetryStormResult {
  readonly options: ResolvedRetryStormOptions;
  readonly seconds: readonly SecondStats[];
  readonly summary: RetryStormSummary;
}

/** Goodput share that counts as recovered. */
export const RECOVERED_SHARE = 0.9;
/** Recovery must hold this long before the end of the run to count. */
const STABLE_FOR_S = 5;

/** The defaults, and the options a run used. */
export function resolveRetryStormOptions(options: RetryStormOptions): ResolvedRetryStormOptions {
  return {
    policy: options.policy,
    seed: options.seed ?? 1,
    durationS: options.durationS ?? 80,
    ratePerS: options.ratePerS ?? 100,
    workers: options.workers ?? 12,
    serviceMs: options.serviceMs ?? 100,
    trigger:
      options.trigger === undefined ? { startS: 10, durationS: 10, capacityShare: 0.25 } : options.trigger,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 500,
    clientDeadlineMs: options.clientDeadlineMs ?? 2000,
    maxRetries: options.maxRetries ?? 3,
    budgetRatio: options.budgetRatio ?? 0.1,
    budgetMinRetriesPerSecond: options.budgetMinRetriesPerSecond ?? 1,
    dropAbandonedQueued: options.dropAbandonedQueued ?? true,
  };
}

/**
 * The client's call, in the documented order: overall timeout (the client's deadline) → retry →
 * per-attempt timeout. Both variants differ only in the retry policy.
 */
function buildPolicy(o: ResolvedRetryStormOptions, clock: ManualClock, random: () => number): Policy {
  const overall = timeout(o.clientDeadlineMs, { clock });
  const perAttempt = timeout(o.attemptTimeoutMs, { clock });
  if (o.policy === 'naive') {
    return wrap(overall, retry({ maxRetries: o.maxRetries, backoff: 0, clock, random }), perAttempt);
  }
  const budget = new RetryBudget({
    ratio: o.budgetRatio,
    minRetriesPerSecond: o.budgetMinRetriesPerSecond,
    clock,
  });
  const backoff = decorrelatedJitter({ initial: 50, max: 1000 });
  return wrap(overall, retry({ maxRetries: o.maxRetries, backoff, budget, clock, random }), perAttempt);
}

interface MutableSecond {
  offered: number;
  attempts: number;
  good: number;
}

/**
 * Runs scenario 3 (retry storm) on simulated time: an open-loop client population calls a
 * fixed-capacity server through the real `retry`, `timeout` and `RetryBudget` policies, all on one
 * `ManualClock`; a capacity drop is the trigger. Deterministic for a given seed.
 * @example const { summary } = await simulateRetryStorm({ policy: 'naive' }); summary.recovered // false
 */
export async function simulateRetryStorm(options: RetryStormOptions): Promise<RetryStormResult> {
  const o = resolveRetryStormOptions(options);
  const clock = new ManualClock();
  const server = new ServerModel({
    clock,
    workers: o.workers,
    serviceMs: o.serviceMs,
    random: seededRandom(o.seed),
    dropAbandonedQueued: o.dropAbandonedQueued,
  });
  const policy = buildPolicy(o, clock, seededRandom(o.seed ^ 0x5bd1e995));
  const trigger = o.trigger;
  if (trigger !== null) {
    const low = Math.max(1, Math.round(o.workers * trigger.capacityShare));
    clock.setTimeout(() => server.setWorkers(low), trigger.startS * 1000);
    clock.setTimeout(() => server.setWorkers(o.workers), (trigger.startS + trigger.durationS) * 1000);
  }

  const live: MutableSecond[] = Array.from({ length: o.durationS }, () => ({
    offered: 0,
    attempts: 0,
    good: 0,
  }));
  const seconds: SecondStats[] = [];
  let settled = 0;
  const work = ({ signal }: ExecuteContext): Promise<void> => {
    const bin = live[Math.floor(clock.now() / 1000)];
    if (bin !== undefined) bin.attempts++;
    return server.submit(signal);
  };

  let previous = server.counters();
  const closeSecond = (s: number) => {
    const c = server.counters();
    const bin = live[s] as MutableSecond;
    seconds.push({
      second: s,
      offered: bin.offered,
      attempts: bin.attempts,
      good: 0, // filled in once every request of the second has settled
      served: c.served - previous.served,
      wasted: c.wasted - previous.wasted,
      utilisation: Math.min(1, (c.busyMs - previous.busyMs) / (c.capacityMs - previous.capacityMs)),
      queue: server.queued,
      workers: (c.capacityMs - previous.capacityMs) / 1000,
    });
    previous = c;
  };

  // Arrivals go on past the recorded window (open loop), so that its last seconds see the same
  // load as the others; only requests arriving inside the window are counted.
  const intervalMs = 1000 / o.ratePerS;
  const recorded = o.durationS * o.ratePerS;
  const total = recorded + Math.ceil((o.clientDeadlineMs + 1000) / intervalMs);
  let arrived = 0;
  const arrive = () => {
    const at = arrived * intervalMs;
    const bin = live[Math.floor(at / 1000)];
    const p = policy.execute(work);
    if (bin === undefined) {
      p.catch(() => {});
    } else {
      bin.offered++;
      p.then(
        () => {
          settled++;
          if (clock.now() - at <= o.clientDeadlineMs) bin.good++;
        },
        () => {
          settled++;
        },
      );
    }
    arrived++;
    if (arrived < total) clock.setTimeout(arrive, arrived * intervalMs - clock.now());
  };
  clock.setTimeout(arrive, 0);
  for (let s = 0; s < o.durationS; s++) {
    await clock.advance(1000);
    closeSecond(s);
  }
  await clock.advance(total * intervalMs - clock.now());
  if (settled !== recorded) throw new Error(`simulation: ${recorded - settled} requests never settled`);

  const final = seconds.map((s, i) => ({ ...s, good: (live[i] as MutableSecond).good }));
  return { options: o, seconds: final, summary: summarise(o, final) };
}

function share(seconds: readonly SecondStats[], from: number, to: number): number {
  let good = 0;
  let offered = 0;
  for (const s of seconds.slice(from, to)) {
    good += s.good;
    offered += s.offered;
  }
  return offered === 0 ? 1 : good / offered;
}

function summarise(o: ResolvedRetryStormOptions, seconds: readonly SecondStats[]): RetryStormSummary {
  const end = seconds.length;
  const start = o.trigger === null ? 0 : o.trigger.startS;
  const stop = o.trigger === null ? 0 : o.trigger.startS + o.trigger.durationS;
  let from = end;
  while (
    from > stop &&
    (seconds[from - 1] as SecondStats).good >= RECOVERED_SHARE * (seconds[from - 1] as SecondStats).offered
  ) {
    from--;
  }
  const recovered = end - from >= STABLE_FOR_S;
  let windowAttempts = 0;
  let windowOffered = 0;
  let served = 0;
  let wasted = 0;
  let peak = 0;
  for (const s of seconds) {
    if (s.offered > 0) peak = Math.max(peak, s.attempts / s.offered);
    if (s.second < start) continue;
    windowAttempts += s.attempts;
    windowOffered += s.offered;
    served += s.served;
    wasted += s.wasted;
  }
  const whole = share(seconds, 0, end);
  return {
    availability:
      o.trigger === null
        ? { before: whole, during: whole, after: whole }
        : {
            before: share(seconds, 0, start),
            during: share(seconds, start, stop),
            after: share(seconds, stop, end),
          },
    amplification: windowOffered === 0 ? 0 : windowAttempts / windowOffered,
    peakAmplification: peak,
    wastedShare: served + wasted === 0 ? 0 : wasted / (served + wasted),
    recovered,
    recoverySeconds: recovered ? from - stop : null,
    availabilityAfterRecovery: recovered ? share(seconds, from, end) : null,
    requests: seconds.reduce((n, s) => n + s.offered, 0),
    attempts: seconds.reduce((n, s) => n + s.attempts, 0),
  };
}
