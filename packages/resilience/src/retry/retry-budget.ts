import { type Clock, systemClock } from '../core/clock.js';
import { checkInteger, checkNumber } from '../core/errors.js';
import { channels, publish } from '../core/events.js';

export interface RetryBudgetOptions {
  /** Retries allowed as a share of calls in the window (default 0.1: at most 10 % extra load). */
  readonly ratio?: number;
  /** Retries always allowed per second, so that a quiet service can still retry (default 10). */
  readonly minRetriesPerSecond?: number;
  /** Sliding window length (default 10 s). */
  readonly windowMs?: number;
  /** Resolution of the window (default 10 buckets). */
  readonly buckets?: number;
  readonly name?: string;
  readonly clock?: Clock;
}

/**
 * Caps retries at a share of calls over a sliding window (Finagle's and gRPC's retry budgets): when
 * a dependency fails for everyone, retries stop multiplying the load instead of tripling it.
 * Share one budget between all retry policies that call the same dependency.
 * @example const budget = new RetryBudget({ ratio: 0.2 }); retry({ budget })
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly windowMs: number;
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #bucketMs: number;
  readonly #calls: Float64Array;
  readonly #retries: Float64Array;
  #index = 0;
  /** start time of the current bucket */
  #bucketStart: number;
  #totalCalls = 0;
  #totalRetries = 0;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = checkNumber('retry-budget', 'ratio', options.ratio ?? 0.1, 0);
    this.minRetriesPerSecond = checkNumber(
      'retry-budget',
      'minRetriesPerSecond',
      options.minRetriesPerSecond ?? 10,
      0,
    );
    this.windowMs = checkNumber('retry-budget', 'windowMs', options.windowMs ?? 10_000, 1);
    const buckets = checkInteger('retry-budget', 'buckets', options.buckets ?? 10, 1, 1000);
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#bucketMs = this.windowMs / buckets;
    this.#calls = new Float64Array(buckets);
    this.#retries = new Float64Array(buckets);
    this.#bucketStart = this.clock.now();
  }

  /** Counts one call (first attempts only). `now` lets a caller share a clock reading. */
  recordCall(now: number = this.clock.now()): void {
    this.#rotate(now);
    this.#calls[this.#index] = (this.#calls[this.#index] ?? 0) + 1;
    this.#totalCalls++;
  }

  /** Takes one retry from the budget if the window allows it. */
  tryRetry(now: number = this.clock.now()): boolean {
    this.#rotate(now);
    const allowed = this.allowed;
    if (this.#totalRetries + 1 > allowed) {
      publish(channels.budgetExhausted, () => ({
        policy: 'retry-budget',
        name: this.name,
        calls: this.#totalCalls,
        retries: this.#totalRetries,
        allowed,
      }));
      return false;
    }
    this.#retries[this.#index] = (this.#retries[this.#index] ?? 0) + 1;
    this.#totalRetries++;
    return true;
  }

  /** Retries the window allows in total right now. */
  get allowed(): number {
    return Math.floor(this.ratio * this.#totalCalls + (this.minRetriesPerSecond * this.windowMs) / 1000);
  }

  /** Calls and retries currently in the window. */
  stats(now: number = this.clock.now()): { calls: number; retries: number; allowed: number } {
    this.#rotate(now);
    return { calls: this.#totalCalls, retries: this.#totalRetries, allowed: this.allowed };
  }

  #rotate(now: number): void {
    const elapsed = now - this.#bucketStart;
    if (elapsed < this.#bucketMs) return;
    const n = this.#calls.length;
    const steps = Math.floor(elapsed / this.#bucketMs);
    const clear = Math.min(steps, n);
    for (let k = 0; k < clear; k++) {
      this.#index = (this.#index + 1) % n;
      this.#totalCalls -= this.#calls[this.#index] as number;
      this.#totalRetries -= this.#retries[this.#index] as number;
      this.#calls[this.#index] = 0;
      this.#retries[this.#index] = 0;
    }
    if (steps > n) this.#index = (this.#index + (steps - n)) % n;
    this.#bucketStart += steps * this.#bucketMs;
  }
}
