import { AsyncResource } from 'node:async_hooks';
import type { Call } from '../core/call.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import {
  checkInteger,
  checkNumber,
  FaultlineError,
  invalidOption,
  ResilienceErrorCode,
} from '../core/errors.js';
import { channels, publish } from '../core/events.js';
import { PolicyBase } from '../core/pipeline.js';
import type { Scope } from '../core/scope.js';
import type { Middleware, Next, Stage } from '../core/stage.js';
import { currentDeadline, type Deadline } from '../deadline/deadline.js';
import { RetryBudget } from '../retry/retry-budget.js';

/** An adaptive hedge delay: the given percentile of observed latency, e.g. `'p95'`. */
export type LatencyPercentile = `p${number}`;

export interface HedgeOptions {
  /**
   * How long an attempt may run before the next one starts, in ms (the k-th hedge starts k × delay
   * after the first attempt), or a percentile of observed call latency such as `'p95'`.
   */
  readonly delayMs: number | LatencyPercentile;
  /** Extra attempts at most (default 1). */
  readonly maxHedges?: number;
  /**
   * Caps hedges at a share of calls: a `RetryBudget` (shared by the hedge policies calling one
   * dependency), or a ratio such as `0.1` (at most 10 % extra attempts over a 10 s window, with no
   * floor). Default: no cap.
   */
  readonly budget?: RetryBudget | number;
  /** Hedge work marked `idempotent: false` too (default false). */
  readonly nonIdempotent?: boolean;
  /**
   * Inside a deadline, no hedge starts with less than this left (default: the hedge delay, which
   * is about how long an attempt takes).
   */
  readonly minRemainingMs?: number;
  /** Adaptive delay only: the delay used until 20 latencies were observed (default 100 ms). */
  readonly initialDelayMs?: number;
  /** Adaptive delay only: the shortest delay ever used (default 1 ms). */
  readonly minDelayMs?: number;
  readonly name?: string;
  readonly clock?: Clock;
}

/**
 * Cuts tail latency by racing a second attempt against a slow first one: when the first has not
 * settled after `delayMs`, another starts; the first success wins and the others are aborted.
 * Never hedges work marked `idempotent: false` (unless `nonIdempotent`), never beyond its budget,
 * and never starts a hedge that the deadline leaves no time to finish.
 * @example const h = hedge({ delayMs: 50, budget: 0.1 }); await h.execute(({ signal }) => fetch(url, { signal }));
 */
export function hedge(options: HedgeOptions): HedgePolicy {
  return new HedgePolicy(options);
}

const SAMPLES = 256;
const MIN_SAMPLES = 20;
const RECOMPUTE_EVERY = 32;

export class HedgePolicy extends PolicyBase implements Middleware {
  readonly stage = 'middleware' as const;
  readonly _stages: readonly Stage[] = [this];
  readonly maxHedges: number;
  readonly name: string | undefined;
  readonly clock: Clock;
  /** @internal */ readonly _label: string;
  /** @internal */ readonly _budget: RetryBudget | undefined;
  /** @internal */ readonly _minRemaining: number | undefined;
  readonly #nonIdempotent: boolean;
  /** fixed delay, or the current adaptive estimate */
  #delay: number;
  /** adaptive mode: quantile in (0, 1), else 0 */
  readonly #quantile: number;
  readonly #minDelay: number;
  readonly #samples: Float64Array | undefined;
  #sampleCount = 0;
  #sinceRecompute = 0;

  constructor(options: HedgeOptions) {
    super();
    const d = options.delayMs;
    if (typeof d === 'string') {
      const m = /^p(\d{1,2}(?:\.\d+)?)$/.exec(d);
      const q = m === null ? Number.NaN : Number(m[1]) / 100;
      if (!(q > 0 && q < 1))
        invalidOption('hedge', 'delayMs', `must be a number or a percentile like "p95", got ${d}`);
      this.#quantile = q;
      this.#delay = checkNumber('hedge', 'initialDelayMs', options.initialDelayMs ?? 100, 0);
      this.#minDelay = checkNumber('hedge', 'minDelayMs', options.minDelayMs ?? 1, 0);
      this.#samples = new Float64Array(SAMPLES);
    } else {
      this.#delay = checkNumber('hedge', 'delayMs', d, 0);
      this.#quantile = 0;
      this.#minDelay = 0;
      this.#samples = undefined;
    }
    this.maxHedges = checkInteger('hedge', 'maxHedges', options.maxHedges ?? 1, 0, 16);
    this.#nonIdempotent = options.nonIdempotent ?? false;
    this._minRemaining =
      options.minRemainingMs === undefined
        ? undefined
        : checkNumber('hedge', 'minRemainingMs', options.minRemainingMs, 0);
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this._label = options.name === undefined ? 'hedge' : `hedge:${options.name}`;
    const b = options.budget;
    if (typeof b === 'number') {
      checkNumber('hedge', 'budget', b, 0);
      this._budget = new RetryBudget({
        ratio: b,
        minRetriesPerSecond: 0,
        clock: this.clock,
        ...(options.name === undefined ? {} : { name: options.name }),
      });
    } else {
      this._budget = b;
    }
  }

  /** The delay before the next hedge right now (the adaptive estimate in percentile mode). */
  get delayMs(): number {
    return this.#delay;
  }

  /** @internal */
  get _adaptive(): boolean {
    return this.#samples !== undefined;
  }

  /** @internal */
  run(call: Call, next: Next): Promise<unknown> {
    if (this.maxHedges === 0 || (!call.idempotent && !this.#nonIdempotent)) return next(call);
    const budget = this._budget;
    if (budget !== undefined) budget.recordCall(call.now(budget.clock));
    return new HedgedCall(this, call, next).promise;
  }

  /** @internal records the latency of a successful call (adaptive mode) */
  _observe(ms: number): void {
    const samples = this.#samples;
    if (samples === undefined) return;
    samples[this.#sampleCount % SAMPLES] = ms;
    const count = ++this.#sampleCount;
    this.#sinceRecompute++;
    if (count < MIN_SAMPLES || (count > MIN_SAMPLES && this.#sinceRecompute < RECOMPUTE_EVERY)) return;
    this.#sinceRecompute = 0;
    const n = Math.min(this.#sampleCount, SAMPLES);
    const sorted = samples.slice(0, n).sort();
    const at = Math.min(n - 1, Math.ceil(this.#quantile * n) - 1);
    this.#delay = Math.max(this.#minDelay, sorted[Math.max(0, at)] as number);
  }
}

/** One hedged call: its attempts, the hedge timer and the outcome. */
class HedgedCall {
  readonly promise: Promise<unknown>;
  private readonly _policy: HedgePolicy;
  private readonly _call: Call;
  private readonly _next: Next;
  /** the scope the call arrived with: every attempt runs in a child of it */
  private readonly _parent: Scope;
  private readonly _deadline: Deadline | undefined;
  private readonly _attempts: Call[] = [];
  private readonly _fire: () => void;
  private _resolve!: (v: unknown) => void;
  private _reject!: (e: unknown) => void;
  private _timer: TimerHandle | undefined = undefined;
  private _pending = 0;
  private _settled = false;
  private _lastError: unknown = undefined;
  /** adaptive mode: when the first attempt started */
  private _startedAt = 0;

  constructor(policy: HedgePolicy, call: Call, next: Next) {
    this._policy = policy;
    this._call = call;
    this._next = next;
    this._parent = call.scope;
    this.promise = new Promise<unknown>((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    const d = currentDeadline();
    this._deadline = d;
    // The hedge starts from a timer callback: keep the caller's async context (and so its
    // deadline) for the stages and work it runs, whatever the clock.
    const fire = () => this._onTimer();
    this._fire = d === undefined ? fire : AsyncResource.bind(fire);
    if (policy._adaptive) this._startedAt = policy.clock.now();
    this._start();
    if (!this._settled) this._timer = policy.clock.setTimeout(this._fire, policy.delayMs);
  }

  private _start(): void {
    // each attempt is a call of its own, so that concurrent attempts never share state
    const child = this._call.fork(this._parent);
    this._attempts.push(child);
    this._pending++;
    const p = this._next(child);
    p.then(
      (v) => this._succeeded(child, v),
      (e) => this._failed(child, e),
    );
  }

  private _onTimer(): void {
    this._timer = undefined;
    if (this._settled || this._parent.aborted) return;
    const policy = this._policy;
    const delay = policy.delayMs;
    const d = this._deadline;
    if (d !== undefined && d.at - d.clock.now() < (policy._minRemaining ?? delay)) return;
    const budget = policy._budget;
    if (budget !== undefined && !budget.tryRetry()) return;
    const attempt = this._attempts.length + 1;
    publish(channels.hedge, () => ({ policy: 'hedge', name: policy.name, attempt, delayMs: delay }));
    this._start();
    if (!this._settled && this._attempts.length <= policy.maxHedges) {
      this._timer = policy.clock.setTimeout(this._fire, delay);
    }
  }

  private _succeeded(child: Call, value: unknown): void {
    this._pending--;
    this._release(child);
    if (this._settled) return; // a loser finishing after the winner: discarded
    this._settled = true;
    const policy = this._policy;
    this._stopTimer();
    if (policy._adaptive) policy._observe(policy.clock.now() - this._startedAt);
    if (this._pending > 0) {
      const reason = new FaultlineError(
        ResilienceErrorCode.Aborted,
        `${policy._label}: another attempt won`,
        {
          policy: policy._label,
        },
      );
      for (const s of this._attempts) if (s !== child) s.abort(reason);
    }
    this._resolve(value);
  }

  private _failed(child: Call, error: unknown): void {
    this._pending--;
    this._release(child);
    if (this._settled) return;
    this._lastError = error;
    if (this._pending > 0) return; // another attempt may still win
    // Every attempt started so far failed: hedging is not retrying, so the call fails now.
    this._settled = true;
    this._stopTimer();
    this._reject(this._lastError);
  }

  private _stopTimer(): void {
    if (this._timer !== undefined) {
      this._policy.clock.clearTimeout(this._timer);
      this._timer = undefined;
    }
  }

  /** Detaches a settled attempt from the call's scope tree. */
  private _release(child: Call): void {
    child.dispose();
  }
}
