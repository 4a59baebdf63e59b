import { Waiter, WaiterQueue } from '../bulkhead/waiter-queue.js';
import { abortedError } from '../core/aborted.js';
import type { Call } from '../core/call.js';
import { type Clock, systemClock } from '../core/clock.js';
import { checkNumber, type FaultlineError, invalidOption, ResilienceErrorCode } from '../core/errors.js';
import { PolicyBase } from '../core/pipeline.js';
import { announce, type PolicyId, policyId, rejection } from '../core/rejection.js';
import { type Gate, type Stage, WAIT } from '../core/stage.js';
import { currentDeadline, deadlineExceeded } from '../deadline/deadline.js';

export interface RateLimiterOptions {
  /** Tokens added per second: the sustained rate of calls (> 0). */
  readonly ratePerSecond: number;
  /** Bucket size: how many calls may start back to back after a quiet spell (≥ 1; default: one second's worth, at least 1). */
  readonly burst?: number;
  /**
   * Longest a call may wait for a token, in ms (default 0: reject at once). Waiting calls keep
   * their order, leave at once when their signal aborts, and never wait past the deadline.
   */
  readonly maxWaitMs?: number;
  /** Name used in errors and events. */
  readonly name?: string;
  readonly clock?: Clock;
}

/**
 * Token bucket: admits `ratePerSecond` calls per second on average and up to `burst` at once;
 * a call that finds no token fails with FL_RATE_LIMITED (with `details.retryAfterMs`) or waits up
 * to `maxWaitMs` for one.
 * @example const api = rateLimiter({ ratePerSecond: 50, burst: 10, maxWaitMs: 100 });
 */
export function rateLimiter(options: RateLimiterOptions): RateLimiterPolicy {
  return new RateLimiterPolicy(options);
}

export class RateLimiterPolicy extends PolicyBase implements Gate {
  readonly stage = 'gate' as const;
  readonly observeOnly = true;
  readonly _stages: readonly Stage[] = [this];
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxWaitMs: number;
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #id: PolicyId;
  readonly #perMs: number;
  /** tokens at `#last`; negative while waiting calls hold reservations */
  #tokens: number;
  #last: number;
  /** waiting calls, in the order of their reserved tokens */
  readonly #queue = new WaiterQueue();

  constructor(options: RateLimiterOptions) {
    super();
    this.ratePerSecond = checkPositiveFinite('ratePerSecond', options.ratePerSecond);
    this.burst = checkNumber(
      'rate-limiter',
      'burst',
      options.burst ?? Math.max(1, Math.ceil(this.ratePerSecond)),
      1,
    );
    checkPositiveFinite('burst', this.burst);
    this.maxWaitMs = checkNumber('rate-limiter', 'maxWaitMs', options.maxWaitMs ?? 0, 0);
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#id = policyId('rate-limiter', options.name);
    this.#perMs = this.ratePerSecond / 1000;
    this.#tokens = this.burst;
    this.#last = this.clock.now();
  }

  /** Tokens in the bucket now (negative while waiting calls hold reservations); never above `burst`. */
  get tokens(): number {
    return this.#refill(this.clock.now());
  }

  /** Calls waiting for a token. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** @internal */
  enter(call: Call): unknown {
    return this.#take(call) < 0 ? undefined : WAIT;
  }

  /** @internal */
  wait(call: Call): Promise<unknown> {
    const scope = call.scope;
    if (scope.aborted) return Promise.reject(abortedError(scope.abortReason().reason, this.#id.label));
    let ms: number;
    try {
      ms = this.#take(call);
    } catch (e) {
      return Promise.reject(e);
    }
    if (ms < 0) return Promise.resolve(undefined);
    // Reserve the token now: later callers queue behind this one, and the bucket's accounting
    // stays that of a call admitted when its token would have been there.
    this.#tokens -= 1;
    const clock = this.clock;
    const now = call.now(clock);
    const w = new Waiter(scope, now);
    w.at = now + ms;
    this.#queue.push(w);
    this.#arm(w, ms);
    w.listen(() => this.#abandon(w));
    return w.promise;
  }

  #arm(w: Waiter, ms: number): void {
    w.timer = this.clock.setTimeout(() => {
      w.timer = undefined;
      this.#queue.remove(w);
      w.grant(undefined, this.clock);
    }, ms);
  }

  /**
   * A waiter's signal aborted: it leaves at once and its token goes back. Each waiter behind it
   * moves up to the time of the one before, so that the schedule is the one the bucket would have
   * made had the call never come (refunding the token without that would let two calls share a
   * slot).
   */
  #abandon(w: Waiter): void {
    if (w.settled) return;
    const clock = this.clock;
    const now = clock.now();
    let at = w.at;
    for (let x = w.next; x !== null; x = x.next) {
      const own = x.at;
      x.at = at;
      if (x.timer !== undefined) clock.clearTimeout(x.timer);
      this.#arm(x, Math.max(0, at - now));
      at = own;
    }
    this.#queue.remove(w);
    this.#tokens = Math.min(this.burst, this.#refill(now) + 1);
    w.fail(abortedError(w.abortReason, this.#id.label), clock);
  }

  /** @internal */
  exit(_call: Call, _token: unknown): void {}

  /** Brings the bucket up to `now`; returns the tokens. */
  #refill(now: number): number {
    let t = this.#tokens;
    if (now > this.#last) {
      // time spent full adds nothing: accrual restarts from the moment a token is taken
      if (t < this.burst) {
        t = Math.min(this.burst, t + (now - this.#last) * this.#perMs);
        this.#tokens = t;
      }
      this.#last = now;
    }
    return t;
  }

  /**
   * Takes a token if there is one (returns -1), else returns how long to wait for one (nothing
   * is reserved yet), or throws the rejection.
   */
  #take(call: Call): number {
    const t = this.#refill(call.now(this.clock));
    if (t >= 1) {
      this.#tokens = t - 1;
      return -1;
    }
    const waitMs = (1 - t) / this.#perMs;
    if (waitMs > this.maxWaitMs) throw this.#limited(waitMs);
    const d = currentDeadline();
    if (d !== undefined && d.at - d.clock.now() < waitMs) {
      throw announce(
        this.#id,
        deadlineExceeded(
          this.#id.label,
          `the next token comes in ${Math.ceil(waitMs)}ms, after the deadline`,
        ),
        'deadline',
      );
    }
    return waitMs;
  }

  #limited(waitMs: number): FaultlineError {
    const retryAfterMs = Math.ceil(waitMs);
    return rejection(
      this.#id,
      ResilienceErrorCode.RateLimited,
      'no-token',
      `rate limit of ${this.ratePerSecond}/s reached, next token in ${retryAfterMs}ms`,
      {
        retryAfterMs,
        ratePerSecond: this.ratePerSecond,
        burst: this.burst,
        maxWaitMs: this.maxWaitMs,
        waiting: this.#queue.size,
      },
    );
  }
}

function checkPositiveFinite(option: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    invalidOption('rate-limiter', option, `must be a positive finite number, got ${String(value)}`);
  }
  return value;
}
