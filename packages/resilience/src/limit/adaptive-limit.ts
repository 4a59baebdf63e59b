import type { Call } from '../core/call.js';
import { type Clock, systemClock } from '../core/clock.js';
import {
  checkInteger,
  checkNumber,
  type FaultlineError,
  invalidOption,
  isFaultlineError,
  ResilienceErrorCode,
} from '../core/errors.js';
import { channels, publish } from '../core/events.js';
import { PolicyBase } from '../core/pipeline.js';
import { type PolicyId, policyId, rejection } from '../core/rejection.js';
import type { Gate, Stage } from '../core/stage.js';

export interface AdaptiveLimitOptions {
  /**
   * `aimd` (default): +1 after a success while busy, × `backoffRatio` after a drop or a slow call.
   * `gradient`: follows the ratio of long-term to short-term latency (Netflix's Gradient2).
   */
  readonly algorithm?: 'aimd' | 'gradient';
  /** Limit to start from (default 20). */
  readonly initialLimit?: number;
  /** The limit never goes below this (default 1). */
  readonly minLimit?: number;
  /** The limit never goes above this (default 200). */
  readonly maxLimit?: number;
  /** Which failures mean "overloaded" (default: FL_TIMEOUT). Other failures count as plain latency samples. */
  readonly isDrop?: (error: unknown) => boolean;
  /** aimd: factor applied on a drop, in [0.5, 1) (default 0.9). */
  readonly backoffRatio?: number;
  /** aimd: a call slower than this counts as a drop (default 5000 ms). */
  readonly latencyThresholdMs?: number;
  /** gradient: latency may grow by this factor over the long-term average before the limit shrinks (default 1.5, ≥ 1). */
  readonly tolerance?: number;
  /** gradient: weight of each new estimate, in (0, 1] (default 0.2). */
  readonly smoothing?: number;
  /** gradient: windows averaged into the long-term latency (default 600). */
  readonly longWindow?: number;
  /** gradient: the limit is updated once per window of at least `windowMs` (default 1000)… */
  readonly windowMs?: number;
  /** gradient: …and at least `windowSamples` calls (default 10); the window's average latency is the short-term latency. */
  readonly windowSamples?: number;
  /** gradient: headroom added to the limit, from the limit (default `Math.sqrt`). */
  readonly queueSize?: (limit: number) => number;
  /** Name used in errors and events. */
  readonly name?: string;
  readonly clock?: Clock;
}

/**
 * A concurrency limit that finds itself: it grows while latency holds and shrinks when calls
 * time out or slow down, in the spirit of Netflix's concurrency-limits. Calls over the limit fail
 * at once with FL_CONCURRENCY_LIMITED; every change is published on `channels.limit`.
 * @example const lim = adaptiveLimit({ algorithm: 'gradient', minLimit: 5, maxLimit: 100 });
 */
export function adaptiveLimit(options: AdaptiveLimitOptions = {}): AdaptiveLimitPolicy {
  return new AdaptiveLimitPolicy(options);
}

/** How a limit reacts to one finished call. @internal */
interface LimitAlgorithm {
  /** Returns the new (fractional) limit after a call of `rttMs` finished with `inflight` calls running. */
  update(limit: number, rttMs: number, inflight: number, drop: boolean, now: number): number;
}

/** Additive increase, multiplicative decrease. */
class Aimd implements LimitAlgorithm {
  readonly #ratio: number;
  readonly #threshold: number;
  constructor(ratio: number, threshold: number) {
    this.#ratio = ratio;
    this.#threshold = threshold;
  }
  update(limit: number, rttMs: number, inflight: number, drop: boolean): number {
    if (drop || rttMs > this.#threshold) return Math.floor(limit * this.#ratio);
    // grow only when the limit is what holds calls back, not when traffic is light
    if (inflight * 2 >= limit) return limit + 1;
    return limit;
  }
}

/** An average that is exact over the first `warmup` samples, then exponential over `window`. */
class Average {
  value = 0;
  #count = 0;
  readonly #warmup: number;
  readonly #factor: number;
  constructor(window: number, warmup: number) {
    this.#warmup = warmup;
    this.#factor = 2 / (window + 1);
  }
  add(sample: number): number {
    if (this.#count < this.#warmup) {
      this.#count++;
      this.value += (sample - this.value) / this.#count;
    } else {
      this.value += (sample - this.value) * this.#factor;
    }
    return this.value;
  }
}

/**
 * Gradient2: compares short-term latency (the average of one sample window) with its long-term
 * average. While they agree the limit grows by `queueSize(limit)`; when short-term latency rises
 * past `tolerance` × long-term, the limit shrinks by up to half; each step is smoothed. Updating
 * once per window rather than per call keeps a burst of slow calls from collapsing the limit.
 */
class Gradient implements LimitAlgorithm {
  readonly #long: Average;
  readonly #tolerance: number;
  readonly #smoothing: number;
  readonly #queueSize: (limit: number) => number;
  readonly #windowMs: number;
  readonly #windowSamples: number;
  #start = 0;
  #count = 0;
  #sum = 0;
  #maxInflight = 0;
  #dropped = false;
  constructor(
    longWindow: number,
    windowMs: number,
    windowSamples: number,
    tolerance: number,
    smoothing: number,
    queueSize: (limit: number) => number,
  ) {
    this.#long = new Average(longWindow, Math.min(10, longWindow));
    this.#windowMs = windowMs;
    this.#windowSamples = windowSamples;
    this.#tolerance = tolerance;
    this.#smoothing = smoothing;
    this.#queueSize = queueSize;
  }
  update(limit: number, rttMs: number, inflight: number, drop: boolean, now: number): number {
    if (this.#count === 0) this.#start = now;
    this.#count++;
    this.#sum += rttMs;
    if (inflight > this.#maxInflight) this.#maxInflight = inflight;
    if (drop) this.#dropped = true;
    if (this.#count < this.#windowSamples || now - this.#start < this.#windowMs) return limit;
    const short = this.#sum / this.#count;
    const busy = this.#maxInflight;
    const dropped = this.#dropped;
    this.#count = 0;
    this.#sum = 0;
    this.#maxInflight = 0;
    this.#dropped = false;

    let long = this.#long.add(short);
    if (short > 0 && long / short > 2) {
      // latency fell a lot: let the long-term average follow it down faster
      long *= 0.95;
      this.#long.value = long;
    }
    // a drop (a timeout, by default) means overload whatever the latency says
    let gradient = 0.5;
    if (!dropped) {
      // don't grow on light traffic
      if (busy < limit / 2) return limit;
      gradient = short > 0 ? Math.max(0.5, Math.min(1, (this.#tolerance * long) / short)) : 1;
    }
    const estimate = limit * gradient + this.#queueSize(limit);
    return limit * (1 - this.#smoothing) + estimate * this.#smoothing;
  }
}

/** Errors of policies that refused to run the work: they say nothing about the dependency's latency. */
const REFUSALS: ReadonlySet<string> = new Set<string>([
  ResilienceErrorCode.Aborted,
  ResilienceErrorCode.DeadlineExceeded,
  ResilienceErrorCode.CircuitOpen,
  ResilienceErrorCode.CircuitIsolated,
  ResilienceErrorCode.BulkheadFull,
  ResilienceErrorCode.BulkheadTimeout,
  ResilienceErrorCode.RateLimited,
  ResilienceErrorCode.ConcurrencyLimited,
  ResilienceErrorCode.LoadShed,
]);

function isTimeout(error: unknown): boolean {
  return isFaultlineError(error) && error.code === ResilienceErrorCode.Timeout;
}

export class AdaptiveLimitPolicy extends PolicyBase implements Gate {
  readonly stage = 'gate' as const;
  readonly observeOnly = true;
  readonly _stages: readonly Stage[] = [this];
  readonly algorithm: 'aimd' | 'gradient';
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #id: PolicyId;
  readonly #algo: LimitAlgorithm;
  readonly #isDrop: (error: unknown) => boolean;
  /** the estimate; fractional for gradient */
  #estimate: number;
  /** what admission uses: the estimate rounded down */
  #limit: number;
  #inflight = 0;

  constructor(options: AdaptiveLimitOptions) {
    super();
    const k = 'adaptive-limit';
    const algorithm = options.algorithm ?? 'aimd';
    if (algorithm !== 'aimd' && algorithm !== 'gradient') {
      invalidOption(k, 'algorithm', `must be "aimd" or "gradient", got ${String(algorithm)}`);
    }
    this.algorithm = algorithm;
    this.minLimit = checkInteger(k, 'minLimit', options.minLimit ?? 1, 1);
    this.maxLimit = checkInteger(
      k,
      'maxLimit',
      options.maxLimit ?? Math.max(200, this.minLimit),
      this.minLimit,
    );
    if (this.maxLimit === Number.POSITIVE_INFINITY) invalidOption(k, 'maxLimit', 'must be finite');
    const initial = checkInteger(
      k,
      'initialLimit',
      options.initialLimit ?? Math.min(this.maxLimit, Math.max(20, this.minLimit)),
      this.minLimit,
      this.maxLimit,
    );
    this.#estimate = initial;
    this.#limit = initial;
    if (algorithm === 'aimd') {
      this.#algo = new Aimd(
        checkNumber(k, 'backoffRatio', options.backoffRatio ?? 0.9, 0.5, 0.999),
        checkNumber(k, 'latencyThresholdMs', options.latencyThresholdMs ?? 5000, 0),
      );
    } else {
      const smoothing = checkNumber(k, 'smoothing', options.smoothing ?? 0.2, 0, 1);
      if (smoothing === 0) invalidOption(k, 'smoothing', 'must be above 0');
      this.#algo = new Gradient(
        checkInteger(k, 'longWindow', options.longWindow ?? 600, 1, Number.MAX_SAFE_INTEGER),
        checkNumber(k, 'windowMs', options.windowMs ?? 1000, 0, Number.MAX_VALUE),
        checkInteger(k, 'windowSamples', options.windowSamples ?? 10, 1, Number.MAX_SAFE_INTEGER),
        checkNumber(k, 'tolerance', options.tolerance ?? 1.5, 1, Number.MAX_VALUE),
        smoothing,
        options.queueSize ?? Math.sqrt,
      );
    }
    this.#isDrop = options.isDrop ?? isTimeout;
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#id = policyId(k, options.name);
  }

  /** The current limit: how many calls may run at once. */
  get limit(): number {
    return this.#limit;
  }

  /** Calls running now. Right after the limit shrank it may exceed `limit` until calls finish. */
  get inflight(): number {
    return this.#inflight;
  }

  /** @internal */
  enter(call: Call): number {
    if (this.#inflight >= this.#limit) throw this.#limited();
    this.#inflight++;
    return call.now(this.clock);
  }

  /** @internal */
  exit(call: Call, token: unknown): void {
    const inflight = this.#inflight--;
    let drop = false;
    if (!call.ok) {
      const e = call.error;
      try {
        drop = this.#isDrop(e);
      } catch {
        // a throwing classifier must not break the bookkeeping (exit may run detached)
        drop = false;
      }
      // a refusal or the caller's abort: no latency was measured
      if (!drop && ((isFaultlineError(e) && REFUSALS.has(e.code)) || call.scope.aborted)) return;
    }
    const now = this.clock.now();
    const rtt = now - (token as number);
    const previous = this.#limit;
    let next = this.#algo.update(this.#estimate, rtt, inflight, drop, now);
    if (!(next >= this.minLimit)) next = this.minLimit;
    else if (next > this.maxLimit) next = this.maxLimit;
    this.#estimate = next;
    const limit = Math.floor(next);
    if (limit === previous) return;
    this.#limit = limit;
    publish(channels.limit, () => ({
      policy: this.#id.kind,
      name: this.name,
      limit,
      previous,
      inflight: this.#inflight,
      latencyMs: rtt,
    }));
  }

  #limited(): FaultlineError {
    return rejection(
      this.#id,
      ResilienceErrorCode.ConcurrencyLimited,
      'limit',
      `${this.#inflight} calls in flight, limit ${this.#limit}`,
      { limit: this.#limit, inflight: this.#inflight, algorithm: this.algorithm },
    );
  }
}
