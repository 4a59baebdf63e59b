export {
  type BreakerSnapshot,
  type BreakerState,
  type BreakerStateChange,
  type BreakerStats,
  type BreakerTransitionReason,
  type BreakerWindowOptions,
  type CircuitBreakerOptions,
  CircuitBreakerPolicy,
  type ConsecutiveWindowOptions,
  type CountWindowOptions,
  circuitBreaker,
  type GrowingOpenDuration,
  isBreakerFailure,
  type TimeBucketSnapshot,
  type TimeWindowOptions,
  type WindowSnapshot,
} from './breaker/circuit-breaker.js';
export { type BulkheadOptions, BulkheadPolicy, bulkhead } from './bulkhead/bulkhead.js';
export type { ExecuteOptions } from './core/call.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './core/clock.js';
export {
  FaultlineError,
  type FaultlineErrorOptions,
  isFaultlineError,
  ResilienceErrorCode,
} from './core/errors.js';
export { type ChannelName, channels } from './core/events.js';
export { Pipeline, type Policy, type Work, wrap } from './core/pipeline.js';
export type { ExecuteContext } from './core/scope.js';
export {
  currentDeadline,
  DEADLINE_HEADER,
  type Deadline,
  deadlineHeaders,
  parseDeadlineHeader,
  remainingTime,
  withDeadline,
} from './deadline/deadline.js';
export {
  type FallbackFnOptions,
  type FallbackLastGoodOptions,
  type FallbackOptions,
  FallbackPolicy,
  fallback,
  type NotOptions,
} from './fallback/fallback.js';
export { type HedgeOptions, HedgePolicy, hedge, type LatencyPercentile } from './hedge/hedge.js';
export {
  createHttpClient,
  type FetchLike,
  type HttpClient,
  type HttpClientOptions,
  type HttpRetryOptions,
  isNetworkError,
} from './helpers/http-client.js';
export {
  guardPool,
  type PoolClientLike,
  type PoolGuard,
  type PoolGuardOptions,
  type PoolLike,
  type PoolState,
} from './helpers/pg-pool-guard.js';
export { type AdaptiveLimitOptions, AdaptiveLimitPolicy, adaptiveLimit } from './limit/adaptive-limit.js';
export { type LoadShedderOptions, LoadShedderPolicy, loadShedder } from './limit/load-shedder.js';
export { type RateLimiterOptions, RateLimiterPolicy, rateLimiter } from './limit/rate-limiter.js';
export {
  type Backoff,
  constant,
  decorrelatedJitter,
  type ExponentialOptions,
  exponential,
  type Jitter,
} from './retry/backoff.js';
export { isRetryableError, type RetryOptions, RetryPolicy, retry } from './retry/retry.js';
export { parseRetryAfter, retryAfterOf } from './retry/retry-after.js';
export { RetryBudget, type RetryBudgetOptions } from './retry/retry-budget.js';
export { type TimeoutOptions, TimeoutPolicy, timeout } from './timeout/timeout.js';
