const BRAND = Symbol.for('faultline.error');

/** Every stable error code faultline's resilience policies throw. Documented in docs/resilience.md. */
export const ResilienceErrorCode = {
  Timeout: 'FL_TIMEOUT',
  Aborted: 'FL_ABORTED',
  DeadlineExceeded: 'FL_DEADLINE_EXCEEDED',
  CircuitOpen: 'FL_CIRCUIT_OPEN',
  CircuitIsolated: 'FL_CIRCUIT_ISOLATED',
  BulkheadFull: 'FL_BULKHEAD_FULL',
  BulkheadTimeout: 'FL_BULKHEAD_TIMEOUT',
  RateLimited: 'FL_RATE_LIMITED',
  ConcurrencyLimited: 'FL_CONCURRENCY_LIMITED',
  LoadShed: 'FL_LOAD_SHED',
  HttpStatus: 'FL_HTTP_STATUS',
  PoolAcquireTimeout: 'FL_POOL_ACQUIRE_TIMEOUT',
  InvalidOption: 'FL_INVALID_OPTION',
} as const;

export type ResilienceErrorCode = (typeof ResilienceErrorCode)[keyof typeof ResilienceErrorCode];

export interface FaultlineErrorOptions {
  /** Which policy produced the error (its kind and, when given, its name), e.g. `circuit-breaker:db`. */
  readonly policy?: string;
  /** Whether retrying the same call later can succeed. Retry policies skip errors marked `false`. */
  readonly retryable?: boolean;
  readonly cause?: unknown;
  /** Extra machine-readable facts (pool state, remaining budget, …). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Base class of every error faultline throws. `code` is stable across versions; match on it
 * (or use {@link isFaultlineError}) rather than on `instanceof` or the message.
 */
export class FaultlineError extends Error {
  readonly code: string;
  readonly policy: string | undefined;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options: FaultlineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FaultlineError';
    this.code = code;
    this.policy = options.policy;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  /** Brand read by {@link isFaultlineError}; a registry symbol so that it survives duplicate installs. */
  get [BRAND](): true {
    return true;
  }
}

/**
 * True for any faultline error, even one thrown by another copy of the package.
 * @example if (isFaultlineError(err) && err.code === 'FL_CIRCUIT_OPEN') serveCached();
 */
export function isFaultlineError(value: unknown): value is FaultlineError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/** Throws FL_INVALID_OPTION naming the policy, the option and what was wrong. */
export function invalidOption(policy: string, option: string, problem: string): never {
  throw new FaultlineError(ResilienceErrorCode.InvalidOption, `${policy}: option "${option}" ${problem}`, {
    policy,
    details: { option },
  });
}

/** Validates a finite number in [min, max]; returns it. */
export function checkNumber(
  policy: string,
  option: string,
  value: number,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    invalidOption(
      policy,
      option,
      `must be a number in [${min}, ${max === Number.POSITIVE_INFINITY ? '∞' : max}], got ${String(value)}`,
    );
  }
  return value;
}

/** Validates an integer in [min, max]. */
export function checkInteger(
  policy: string,
  option: string,
  value: number,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  checkNumber(policy, option, value, min, max);
  if (!Number.isInteger(value) && value !== Number.POSITIVE_INFINITY) {
    invalidOption(policy, option, `must be an integer, got ${String(value)}`);
  }
  return value;
}
