import type { Clock } from '../core/clock.js';
import {
  checkInteger,
  checkNumber,
  invalidOption,
  isFaultlineError,
  ResilienceErrorCode,
} from '../core/errors.js';
import type { BreakerSnapshot } from './breaker-snapshot.js';

const KIND = 'circuit-breaker';

/** Opens after `failures` failed (or slow) calls in a row; a success starts the count again. */
export interface ConsecutiveWindowOptions {
  readonly kind: 'consecutive';
  /** Failed or slow calls in a row that open the breaker (default 5). */
  readonly failures?: number;
}

/** Decides on the last `size` calls. */
export interface CountWindowOptions {
  readonly kind: 'count';
  /** How many of the latest calls the rates are computed on. */
  readonly size: number;
  /** Calls the window must hold before the breaker may open (default `size`). */
  readonly minCalls?: number;
}

/** Decides on the calls of the last `durationMs`, counted in `buckets` buckets. */
export interface TimeWindowOptions {
  readonly kind: 'time';
  readonly durationMs: number;
  /** Buckets the window slides by (default 10): a call is forgotten within one bucket of `durationMs`. */
  readonly buckets?: number;
  /** Calls the window must hold before the breaker may open (default 10). */
  readonly minCalls?: number;
}

/** How a breaker counts outcomes before deciding to open. */
export type BreakerWindowOptions = ConsecutiveWindowOptions | CountWindowOptions | TimeWindowOptions;

/** An open period that grows each time a probe fails: `initialMs`, × `factor`, …, capped at `maxMs`. */
export interface GrowingOpenDuration {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per re-opening (default 2). */
  readonly factor?: number;
}

export interface CircuitBreakerOptions {
  /** How outcomes are counted (default `{ kind: 'consecutive', failures: 5 }`). */
  readonly window?: BreakerWindowOptions;
  /** Failure rate in (0, 1] that opens the breaker in count and time modes (default 0.5). */
  readonly failureRateThreshold?: number;
  /**
   * Slow-call detection: a call that takes longer than `durationMs` is slow. In count and time
   * modes the breaker opens when the slow-call rate reaches `rateThreshold` (default 0.5); in
   * consecutive mode a slow call counts like a failure.
   */
  readonly slowCall?: { readonly durationMs: number; readonly rateThreshold?: number };
  /** How long the breaker stays open before letting probes through (default 30 000 ms). */
  readonly openDurationMs?: number;
  /** A growing open period instead of `openDurationMs`. */
  readonly openDuration?: GrowingOpenDuration;
  /**
   * Half-open: at most `probes` calls at once test the dependency (default 1); after
   * `successThreshold` successful probes (default 1) the breaker closes.
   */
  readonly halfOpen?: { readonly probes?: number; readonly successThreshold?: number };
  /**
   * Which errors count as failures (default: every error except FL_ABORTED). Errors for which it
   * returns false count as successes. Calls cancelled by their caller are never counted.
   */
  readonly isFailure?: (error: unknown) => boolean;
  /** Which successful results count as failures, e.g. `(res: Response) => res.status >= 500`. */
  readonly isResultFailure?: (result: never) => boolean;
  /** A snapshot from `exportState()` to start from (e.g. saved before a restart). */
  readonly initialState?: BreakerSnapshot;
  /** Name used in errors and events. */
  readonly name?: string;
  readonly clock?: Clock;
  /** Wall-clock time in epoch ms for snapshots (default `Date.now`). */
  readonly wallClock?: () => number;
}

/**
 * The default `isFailure`: every error except the caller's own cancellation (FL_ABORTED).
 * @example circuitBreaker({ isFailure: (e) => isBreakerFailure(e) && !(e instanceof NotFound) });
 */
export function isBreakerFailure(error: unknown): boolean {
  return !(isFaultlineError(error) && error.code === ResilienceErrorCode.Aborted);
}

/** Validated options with defaults applied. @internal */
export interface BreakerConfig {
  readonly mode: 'consecutive' | 'count' | 'time';
  /** consecutive mode: failed or slow calls in a row that open */
  readonly failures: number;
  readonly size: number;
  readonly durationMs: number;
  readonly buckets: number;
  readonly minCalls: number;
  readonly failureRateThreshold: number;
  /** -1 without slow-call detection */
  readonly slowCallMs: number;
  readonly slowCallRateThreshold: number;
  readonly openInitialMs: number;
  readonly openMaxMs: number;
  readonly openFactor: number;
  readonly probes: number;
  readonly successThreshold: number;
  readonly isFailure: (error: unknown) => boolean;
  readonly isResultFailure: ((result: unknown) => boolean) | undefined;
}

function checkRate(option: string, value: number): number {
  checkNumber(KIND, option, value, 0, 1);
  if (value === 0) invalidOption(KIND, option, 'must be greater than 0');
  return value;
}

function checkObject(option: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) invalidOption(KIND, option, 'must be an object');
}

function checkFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') invalidOption(KIND, option, 'must be a function');
}

/** Validates the options (FL_INVALID_OPTION naming the option) and applies the defaults. @internal */
export function resolveOptions(options: CircuitBreakerOptions): BreakerConfig {
  const window: BreakerWindowOptions = options.window ?? { kind: 'consecutive' };
  checkObject('window', window);
  let failures = 5;
  let size = 0;
  let durationMs = 0;
  let buckets = 0;
  let minCalls = 1;
  switch (window.kind) {
    case 'consecutive':
      failures = checkInteger(KIND, 'window.failures', window.failures ?? 5, 1);
      break;
    case 'count':
      size = checkInteger(KIND, 'window.size', window.size, 1, 1_000_000);
      minCalls = checkInteger(KIND, 'window.minCalls', window.minCalls ?? size, 1, size);
      break;
    case 'time':
      durationMs = checkNumber(KIND, 'window.durationMs', window.durationMs, 0);
      if (durationMs === 0 || durationMs === Number.POSITIVE_INFINITY) {
        invalidOption(KIND, 'window.durationMs', 'must be a positive finite number');
      }
      buckets = checkInteger(KIND, 'window.buckets', window.buckets ?? 10, 1, 10_000);
      minCalls = checkInteger(KIND, 'window.minCalls', window.minCalls ?? 10, 1);
      break;
    default:
      invalidOption(
        KIND,
        'window.kind',
        `must be "consecutive", "count" or "time", got ${String((window as { kind?: unknown }).kind)}`,
      );
  }
  const failureRateThreshold = checkRate('failureRateThreshold', options.failureRateThreshold ?? 0.5);

  let slowCallMs = -1;
  let slowCallRateThreshold = 1;
  if (options.slowCall !== undefined) {
    checkObject('slowCall', options.slowCall);
    slowCallMs = checkNumber(KIND, 'slowCall.durationMs', options.slowCall.durationMs, 0);
    slowCallRateThreshold = checkRate('slowCall.rateThreshold', options.slowCall.rateThreshold ?? 0.5);
  }

  let openInitialMs: number;
  let openMaxMs: number;
  let openFactor = 1;
  if (options.openDuration !== undefined) {
    if (options.openDurationMs !== undefined) {
      invalidOption(KIND, 'openDuration', 'cannot be combined with openDurationMs');
    }
    const d = options.openDuration;
    checkObject('openDuration', d);
    openInitialMs = checkNumber(KIND, 'openDuration.initialMs', d.initialMs, 0);
    openMaxMs = checkNumber(KIND, 'openDuration.maxMs', d.maxMs, openInitialMs);
    openFactor = checkNumber(KIND, 'openDuration.factor', d.factor ?? 2, 1);
  } else {
    openInitialMs = checkNumber(KIND, 'openDurationMs', options.openDurationMs ?? 30_000, 0);
    openMaxMs = openInitialMs;
  }

  const halfOpen = options.halfOpen ?? {};
  checkObject('halfOpen', halfOpen);
  const probes = checkInteger(KIND, 'halfOpen.probes', halfOpen.probes ?? 1, 1);
  const successThreshold = checkInteger(KIND, 'halfOpen.successThreshold', halfOpen.successThreshold ?? 1, 1);

  checkFunction('isFailure', options.isFailure);
  checkFunction('isResultFailure', options.isResultFailure);
  checkFunction('wallClock', options.wallClock);
  if (options.name !== undefined && typeof options.name !== 'string') {
    invalidOption(KIND, 'name', 'must be a string');
  }

  return {
    mode: window.kind,
    failures,
    size,
    durationMs,
    buckets,
    minCalls,
    failureRateThreshold,
    slowCallMs,
    slowCallRateThreshold,
    openInitialMs,
    openMaxMs,
    openFactor,
    probes,
    successThreshold,
    isFailure: options.isFailure ?? isBreakerFailure,
    isResultFailure: options.isResultFailure as ((result: unknown) => boolean) | undefined,
  };
}
