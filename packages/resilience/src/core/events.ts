import { type Channel, channel } from 'node:diagnostics_channel';

/**
 * Diagnostics channels every policy publishes on. Messages are built only when a channel has
 * subscribers, so an unobserved process pays nothing.
 * @example diagnostics_channel.subscribe('faultline:resilience:breaker-state', (m) => log.warn(m));
 */
export const channels = {
  /** A timeout fired: `{ policy, name, timeoutMs, elapsedMs }`. */
  timeout: channel('faultline:resilience:timeout'),
  /** A retry is scheduled: `{ policy, name, attempt, delayMs, error?, result? }`. */
  retry: channel('faultline:resilience:retry'),
  /** A retry policy stopped retrying: `{ policy, name, attempts, reason }` (exhausted, budget, deadline, not-retryable, non-idempotent). */
  retryGiveUp: channel('faultline:resilience:retry-give-up'),
  /** A retry budget refused a retry: `{ policy, name, calls, retries, allowed }`. */
  budgetExhausted: channel('faultline:resilience:budget-exhausted'),
  /** A circuit breaker changed state: `{ policy, name, from, to, reason, failureRate, slowCallRate, calls }`. */
  breakerState: channel('faultline:resilience:breaker-state'),
  /** A policy rejected a call without running it: `{ policy, name, code, reason, details }`. */
  reject: channel('faultline:resilience:reject'),
  /** An adaptive limit changed: `{ policy, name, limit, previous, inflight, latencyMs }`. */
  limit: channel('faultline:resilience:limit'),
  /** A hedged attempt started: `{ policy, name, attempt, delayMs }`. */
  hedge: channel('faultline:resilience:hedge'),
  /** A fallback replaced a failure: `{ policy, name, error, source }`. */
  fallback: channel('faultline:resilience:fallback'),
} as const satisfies Record<string, Channel>;

export type ChannelName = keyof typeof channels;

/** Publishes `build()` on `ch` only when someone listens. */
export function publish(ch: Channel, build: () => object): void {
  if (ch.hasSubscribers) ch.publish(build());
}
