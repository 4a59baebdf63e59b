/**
 * Where a circuit breaker stands: `closed` runs calls and counts outcomes, `open` rejects them,
 * `half-open` lets a few probe calls through to test the dependency, `isolated` rejects them until
 * released by hand.
 */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Numeric state codes, compared on the hot path instead of strings. @internal */
export const CLOSED = 0;
/** @internal */
export const OPEN = 1;
/** @internal */
export const HALF_OPEN = 2;
/** @internal */
export const ISOLATED = 3;

/** @internal */
export type StateCode = typeof CLOSED | typeof OPEN | typeof HALF_OPEN | typeof ISOLATED;

/** @internal names of the state codes, by code */
export const STATE_NAMES = [
  'closed',
  'open',
  'half-open',
  'isolated',
] as const satisfies readonly BreakerState[];

/** @internal the code of a state name, or -1 */
export function stateCode(name: string): StateCode | -1 {
  const i = (STATE_NAMES as readonly string[]).indexOf(name);
  return i === -1 ? -1 : (i as StateCode);
}

/** Why a breaker changed state, as published on `channels.breakerState`. */
export type BreakerTransitionReason =
  /** closed → open: `window.failures` failed or slow calls in a row */
  | 'consecutive-failures'
  /** closed → open: the failure rate reached `failureRateThreshold` */
  | 'failure-rate'
  /** closed → open: the slow-call rate reached `slowCall.rateThreshold` */
  | 'slow-call-rate'
  /** open → half-open: the open period is over and a call arrived */
  | 'open-duration-elapsed'
  /** half-open → open: a probe failed */
  | 'probe-failed'
  /** half-open → open: a probe was slow */
  | 'probe-slow'
  /** half-open → closed: `halfOpen.successThreshold` probes succeeded */
  | 'probes-succeeded'
  | 'isolated'
  | 'released'
  | 'reset';

/** The message published on `channels.breakerState` at every state change. */
export interface BreakerStateChange {
  readonly policy: 'circuit-breaker';
  readonly name: string | undefined;
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly reason: BreakerTransitionReason;
  readonly failureRate: number;
  readonly slowCallRate: number;
  /** calls in the window (in consecutive mode: the current run of failed or slow calls) */
  readonly calls: number;
}

/** What `CircuitBreakerPolicy.stats()` returns. */
export interface BreakerStats {
  readonly state: BreakerState;
  /** Calls in the window; in consecutive mode, the current run of failed or slow calls. */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** failures / calls, 0 when the window is empty */
  readonly failureRate: number;
  /** slow calls / calls, 0 when the window is empty */
  readonly slowCallRate: number;
  /** Probe calls running now (admitted in half-open and not finished yet). */
  readonly probesInFlight: number;
  /** Times the breaker re-opened from half-open since it last closed (drives a growing open duration). */
  readonly reopenCount: number;
}
