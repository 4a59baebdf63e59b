import { abortedError } from '../core/aborted.js';
import type { Call } from '../core/call.js';
import { type Clock, systemClock } from '../core/clock.js';
import { checkInteger, checkNumber, isFaultlineError } from '../core/errors.js';
import { channels, publish } from '../core/events.js';
import { PolicyBase } from '../core/pipeline.js';
import type { RetryStage, RetryState, Stage } from '../core/stage.js';
import { currentDeadline } from '../deadline/deadline.js';
import { type Backoff, decorrelatedJitter } from './backoff.js';
import { retryAfterOf } from './retry-after.js';
import type { RetryBudget } from './retry-budget.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  readonly maxRetries?: number;
  /** Delay policy (default decorrelated jitter from 100 ms up to 10 s). A number means constant. */
  readonly backoff?: Backoff | number;
  /** Which errors to retry (default: every error except rejections marked not retryable and aborts). */
  readonly retryOn?: (error: unknown, attempt: number) => boolean;
  /** Which successful results to retry, e.g. `(res) => [502, 503, 504, 429].includes(res.status)`. */
  readonly retryOnResult?: (result: never, attempt: number) => boolean;
  /**
   * Honour a server's `Retry-After` (default true; a function reads the delay in ms itself). A
   * delay longer than `maxRetryAfterMs` stops retrying.
   */
  readonly retryAfter?: boolean | ((errorOrResult: unknown) => number | undefined);
  /** Longest `Retry-After` worth waiting for (default 30 s). */
  readonly maxRetryAfterMs?: number;
  /** Shared budget capping retries at a share of calls. */
  readonly budget?: RetryBudget;
  /** Retry work marked `idempotent: false` too (default false). */
  readonly nonIdempotent?: boolean;
  readonly name?: string;
  readonly clock?: Clock;
  /** Random source for jitter, in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

/** The default `retryOn`: retry anything except faultline rejections marked not retryable. */
export function isRetryableError(error: unknown): boolean {
  if (isFaultlineError(error)) return error.retryable;
  return true;
}

/**
 * Runs the work again when it fails (or returns a result you call a failure), waiting with jitter
 * between attempts, within the deadline and, if given, a shared retry budget.
 * @example const r = retry({ maxRetries: 2, retryOnResult: (res: Response) => res.status >= 500 });
 */
export function retry(options: RetryOptions = {}): RetryPolicy {
  return new RetryPolicy(options);
}

export class RetryPolicy extends PolicyBase implements RetryStage {
  readonly stage = 'retry' as const;
  readonly _stages: readonly Stage[] = [this];
  readonly checksResults: boolean;
  readonly maxRetries: number;
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #backoff: Backoff;
  readonly #retryOn: (error: unknown, attempt: number) => boolean;
  readonly #retryOnResult: ((result: unknown, attempt: number) => boolean) | undefined;
  readonly #retryAfter: ((v: unknown) => number | undefined) | undefined;
  readonly #maxRetryAfter: number;
  readonly #budget: RetryBudget | undefined;
  readonly #nonIdempotent: boolean;
  readonly #random: () => number;
  readonly #label: string;

  constructor(options: RetryOptions) {
    super();
    this.maxRetries = checkInteger('retry', 'maxRetries', options.maxRetries ?? 3, 0);
    const b = options.backoff ?? decorrelatedJitter();
    if (typeof b === 'number') {
      checkNumber('retry', 'backoff', b, 0);
      this.#backoff = { next: () => b };
    } else {
      this.#backoff = b;
    }
    this.#retryOn = options.retryOn ?? isRetryableError;
    this.#retryOnResult = options.retryOnResult as ((r: unknown, a: number) => boolean) | undefined;
    this.checksResults = this.#retryOnResult !== undefined;
    const ra = options.retryAfter ?? true;
    this.#retryAfter = ra === true ? (v) => retryAfterOf(v) : ra === false ? undefined : ra;
    this.#maxRetryAfter = checkNumber('retry', 'maxRetryAfterMs', options.maxRetryAfterMs ?? 30_000, 0);
    this.#budget = options.budget;
    this.#nonIdempotent = options.nonIdempotent ?? false;
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#label = options.name === undefined ? 'retry' : `retry:${options.name}`;
  }

  /** @internal */
  begin(call: Call): void {
    const budget = this.#budget;
    if (budget !== undefined) budget.recordCall(call.now(budget.clock));
  }

  /** @internal */
  decide(call: Call, state: RetryState | undefined): RetryState | undefined {
    const attempt = state === undefined ? 1 : state.attempt;
    let subject: unknown;
    if (call.ok) {
      if (this.#retryOnResult === undefined || !this.#retryOnResult(call.value, attempt)) return undefined;
      subject = call.value;
    } else {
      subject = call.error;
      if (call.scope.aborted) return undefined;
      if (!this.#retryOn(subject, attempt)) return this.#giveUp(attempt, 'not-retryable');
    }
    if (!call.idempotent && !this.#nonIdempotent) return this.#giveUp(attempt, 'non-idempotent');
    if (attempt > this.maxRetries) return this.#giveUp(attempt, 'exhausted');
    const previous = state === undefined ? 0 : state.previousDelay;
    let delay = this.#backoff.next(attempt, previous, this.#random);
    const hinted = this.#retryAfter?.(subject);
    if (hinted !== undefined) {
      if (hinted > this.#maxRetryAfter) return this.#giveUp(attempt, 'retry-after-too-long');
      delay = Math.max(delay, hinted);
    }
    const d = currentDeadline();
    if (d !== undefined && d.at - d.clock.now() <= delay) return this.#giveUp(attempt, 'deadline');
    const budget = this.#budget;
    if (budget !== undefined && !budget.tryRetry()) return this.#giveUp(attempt, 'budget');
    publish(channels.retry, () => ({
      policy: 'retry',
      name: this.name,
      attempt: attempt + 1,
      delayMs: delay,
      ...(call.ok ? { result: subject } : { error: subject }),
    }));
    const next: RetryState = state ?? { attempt: 1, delay: 0, previousDelay: 0 };
    next.attempt = attempt + 1;
    next.delay = delay;
    next.previousDelay = delay;
    return next;
  }

  #giveUp(attempt: number, reason: string): undefined {
    publish(channels.retryGiveUp, () => ({ policy: 'retry', name: this.name, attempts: attempt, reason }));
    return undefined;
  }

  /** @internal */
  sleep(call: Call, ms: number): Promise<void> {
    const scope = call.scope;
    if (scope.aborted) return Promise.reject(abortedError(scope.abortReason().reason, this.#label));
    return new Promise<void>((resolve, reject) => {
      const signal = scope.signal;
      const onAbort = () => {
        this.clock.clearTimeout(timer);
        reject(abortedError(signal.reason, this.#label));
      };
      const timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
