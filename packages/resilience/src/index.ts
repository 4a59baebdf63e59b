export type { ExecuteOptions } from './core/call.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './core/clock.js';
export {
  FaultlineError,
  type FaultlineErrorOptions,
  isFaultlineError,
  ResilienceErrorCode,
} from './core/errors.js';
export { type ChannelName, channels } from './core/events.js';
export { type Policy, Pipeline, type Work, wrap } from './core/pipeline.js';
export type { ExecuteContext } from './core/scope.js';
export {
  DEADLINE_HEADER,
  type Deadline,
  currentDeadline,
  deadlineHeaders,
  parseDeadlineHeader,
  remainingTime,
  withDeadline,
} from './deadline/deadline.js';
export { type Backoff, constant, decorrelatedJitter, type ExponentialOptions, exponential, type Jitter } from './retry/backoff.js';
export { isRetryableError, type RetryOptions, RetryPolicy, retry } from './retry/retry.js';
export { parseRetryAfter, retryAfterOf } from './retry/retry-after.js';
export { RetryBudget, type RetryBudgetOptions } from './retry/retry-budget.js';
export { type TimeoutOptions, TimeoutPolicy, timeout } from './timeout/timeout.js';
