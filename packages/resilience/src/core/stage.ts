import type { Call } from './call.js';

/** Returned by `Gate.enter` when admission must wait; the runner then awaits `Gate.wait`. */
export const WAIT: unique symbol = Symbol('faultline.wait');

/** The rest of a pipeline, as seen by a stage. */
export type Next = (call: Call) => Promise<unknown>;

/**
 * A policy that admits calls synchronously and observes their outcome: breaker, timeout,
 * bulkhead, limiters. Gates next to each other run fused, with one promise reaction per attempt.
 * @internal
 */
export interface Gate {
  readonly stage: 'gate';
  /** True when `exit` never changes the outcome, so that the work's own promise can be returned. */
  readonly observeOnly: boolean;
  /** Admits the call and returns a token for `exit`, throws a rejection, or returns WAIT. */
  enter(call: Call): unknown;
  /** Waits for admission after `enter` returned WAIT; resolves to the token. */
  wait?(call: Call): Promise<unknown>;
  /** Sees the outcome in `call.ok` / `call.value` / `call.error`, and may replace it. */
  exit(call: Call, token: unknown): void;
  /**
   * Optional fast path of an observe-only gate used alone: admits a call whose caller passed no
   * options and returns observers shared by every such call in the current state, or returns
   * undefined (admitting nothing) when the call needs the general path.
   */
  admitLite?(): LiteObservers | undefined;
}

/** Outcome callbacks shared between calls, handed to the work's promise as they are. @internal */
export interface LiteObservers {
  readonly ok: (value: unknown) => void;
  readonly err: (error: unknown) => void;
}

/** Per-call state of a retry stage, created on the first failure only. @internal */
export interface RetryStage {
  readonly stage: 'retry';
  /** True when successful results must be inspected too (`retryOnResult`). */
  readonly checksResults: boolean;
  /** Called once per logical call before the first attempt. */
  begin(call: Call): void;
  /**
   * Called after an attempt whose outcome is in `call`; returns the delay before the next
   * attempt, or -1 to stop. `state` is what the previous call returned in `nextState`.
   */
  decide(call: Call, state: RetryState | undefined): RetryState | undefined;
  /** Sleeps `ms` on the stage's clock; rejects when the call's scope aborts. */
  sleep(call: Call, ms: number): Promise<void>;
}

/** @internal */
export interface RetryState {
  attempt: number;
  /** delay before the next attempt, or -1 to give up */
  delay: number;
  previousDelay: number;
}

/** A policy that needs the whole rest of the pipeline (fallback, hedging, racing timeout). @internal */
export interface Middleware {
  readonly stage: 'middleware';
  run(call: Call, next: Next): Promise<unknown>;
}

export type Stage = Gate | RetryStage | Middleware;
