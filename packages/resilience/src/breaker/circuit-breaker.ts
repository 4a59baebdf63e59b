import { Call } from '../core/call.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type FaultlineError, isFaultlineError, ResilienceErrorCode } from '../core/errors.js';
import { channels, publish } from '../core/events.js';
import { PolicyBase } from '../core/pipeline.js';
import { type PolicyId, policyId, rejection } from '../core/rejection.js';
import type { Gate, LiteObservers, Stage } from '../core/stage.js';
import { type BreakerConfig, type CircuitBreakerOptions, resolveOptions } from './breaker-options.js';
import { type BreakerSnapshot, readSnapshot } from './breaker-snapshot.js';
import {
  type BreakerState,
  type BreakerStateChange,
  type BreakerStats,
  type BreakerTransitionReason,
  CLOSED,
  HALF_OPEN,
  ISOLATED,
  OPEN,
  STATE_NAMES,
  type StateCode,
  stateCode,
} from './breaker-state.js';
import {
  ConsecutiveWindow,
  CountWindow,
  FAILURE,
  type OutcomeWindow,
  SLOW,
  TimeWindow,
} from './outcome-window.js';

export {
  type BreakerWindowOptions,
  type CircuitBreakerOptions,
  type ConsecutiveWindowOptions,
  type CountWindowOptions,
  type GrowingOpenDuration,
  isBreakerFailure,
  type TimeWindowOptions,
} from './breaker-options.js';
export type { BreakerSnapshot } from './breaker-snapshot.js';
export type {
  BreakerState,
  BreakerStateChange,
  BreakerStats,
  BreakerTransitionReason,
} from './breaker-state.js';
export type { TimeBucketSnapshot, WindowSnapshot } from './outcome-window.js';

/**
 * Stops calling a dependency that keeps failing (or answering slowly): after enough failures the
 * breaker opens and rejects calls at once with FL_CIRCUIT_OPEN, then lets a few probes through to
 * find out whether the dependency has recovered.
 * @example const db = circuitBreaker({ window: { kind: 'count', size: 20 }, openDurationMs: 10_000 });
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreakerPolicy {
  return new CircuitBreakerPolicy(options);
}

/**
 * The token of a call that needs more than its period number: a probe (which holds a slot) or a
 * call whose duration is measured for slow-call detection.
 */
class Admission {
  readonly period: number;
  readonly start: number;
  readonly probe: boolean;
  constructor(period: number, start: number, probe: boolean) {
    this.period = period;
    this.start = start;
    this.probe = probe;
  }
}

/** Outcome code of a call cancelled by its caller: not recorded. */
const IGNORED = -1;

/**
 * True when the call failed because its caller cancelled it (FL_ABORTED, or the scope aborted for
 * a reason that is not a policy's own error such as a timeout's FL_TIMEOUT).
 */
function cancelledByCaller(call: Call, error: unknown): boolean {
  if (isFaultlineError(error) && error.code === ResilienceErrorCode.Aborted) return true;
  const scope = call.scope;
  if (!scope.aborted) return false;
  const reason = scope.abortReason().reason;
  return !(isFaultlineError(reason) && reason.code !== ResilienceErrorCode.Aborted);
}

/**
 * A circuit breaker: a gate that counts outcomes and rejects calls while open. It never changes an
 * outcome, so a breaker alone hands back the work's own promise.
 *
 * Every state change starts a new *period*: a call remembers the period it was admitted in, and
 * its outcome counts only if the period is still current (a call that started before the breaker
 * opened, and fails long after, does not re-open a breaker that has closed again since).
 */
const noWork = (): undefined => undefined;

export class CircuitBreakerPolicy extends PolicyBase implements Gate {
  readonly stage = 'gate' as const;
  readonly observeOnly = true;
  readonly _stages: readonly Stage[] = [this];
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #id: PolicyId;
  readonly #cfg: BreakerConfig;
  readonly #window: OutcomeWindow;
  readonly #wallClock: () => number;
  /** consecutive mode, no slow-call detection, no result check: a success only ends the run */
  readonly #plain: boolean;
  /** the outcome needs the time at exit (slow-call detection or a time window) */
  readonly #timedExit: boolean;
  #state: StateCode = CLOSED;
  #period = 0;
  /** clock time the open period ends */
  #openUntil = 0;
  #reopenCount = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  #litePeriod = -1;
  #liteObservers: LiteObservers | undefined = undefined;

  constructor(options: CircuitBreakerOptions) {
    super();
    const cfg = resolveOptions(options);
    this.#cfg = cfg;
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#id = policyId('circuit-breaker', options.name);
    this.#window =
      cfg.mode === 'consecutive'
        ? new ConsecutiveWindow()
        : cfg.mode === 'count'
          ? new CountWindow(cfg.size)
          : new TimeWindow(cfg.durationMs, cfg.buckets);
    this.#plain = cfg.mode === 'consecutive' && cfg.slowCallMs < 0 && cfg.isResultFailure === undefined;
    this.#timedExit = cfg.mode === 'time' || cfg.slowCallMs >= 0;
    if (options.initialState !== undefined) this.#restore(readSnapshot(options.initialState));
  }

  /**
   * The current state. An open breaker turns half-open lazily, on the first call after its open
   * period, so it reads `open` until then.
   */
  get state(): BreakerState {
    return STATE_NAMES[this.#state];
  }

  /** Counts of the window and the breaker's state, e.g. for a health endpoint. */
  stats(): BreakerStats {
    const w = this.#currentWindow();
    return {
      state: STATE_NAMES[this.#state],
      calls: w.calls,
      failures: w.failures,
      slowCalls: w.slowCalls,
      failureRate: w.calls === 0 ? 0 : w.failures / w.calls,
      slowCallRate: w.calls === 0 ? 0 : w.slowCalls / w.calls,
      probesInFlight: this.#probesInFlight,
      reopenCount: this.#reopenCount,
    };
  }

  /** Forces the breaker open until {@link release}: calls fail with FL_CIRCUIT_ISOLATED. */
  isolate(): void {
    if (this.#state !== ISOLATED) this.#transition(ISOLATED, 'isolated');
  }

  /** Ends an {@link isolate}: the breaker closes with an empty window. No-op unless isolated. */
  release(): void {
    if (this.#state === ISOLATED) this.#transition(CLOSED, 'released');
  }

  /** Closes the breaker and forgets every outcome counted so far (and calls still running). */
  reset(): void {
    this.#transition(CLOSED, 'reset');
  }

  /**
   * The breaker's state as JSON, to restore later with the `initialState` option.
   * @example await fs.writeFile('breaker.json', JSON.stringify(db.exportState()));
   */
  exportState(): BreakerSnapshot {
    const wallNow = this.#wallClock();
    const now = this.clock.now();
    return {
      version: 1,
      state: STATE_NAMES[this.#state],
      savedAt: wallNow,
      openUntil: this.#state === OPEN ? wallNow + (this.#openUntil - now) : null,
      reopenCount: this.#reopenCount,
      window: this.#window.snapshot(now),
    };
  }

  /** @internal */
  enter(call: Call): unknown {
    if (this.#state === CLOSED) {
      // the hot path: the token is the period number, no allocation
      return this.#cfg.slowCallMs < 0
        ? this.#period
        : new Admission(this.#period, call.now(this.clock), false);
    }
    return this.#enterProbe(call);
  }

  /** @internal lite path: closed and no slow-call timing, so the token is just the period */
  admitLite(): LiteObservers | undefined {
    if (this.#state !== CLOSED || this.#cfg.slowCallMs >= 0) return undefined;
    if (this.#litePeriod !== this.#period) {
      this.#litePeriod = this.#period;
      this.#liteObservers = this.#makeLiteObservers(this.#period);
    }
    return this.#liteObservers;
  }

  /** Observers shared by the lite calls of one closed period; a scratch call carries the outcome. */
  #makeLiteObservers(period: number): LiteObservers {
    const scratch = new Call(noWork, undefined);
    return {
      ok: (value) => {
        scratch.ok = true;
        scratch.value = value;
        this.exit(scratch, period);
        scratch.value = undefined;
      },
      err: (error) => {
        scratch.ok = false;
        scratch.error = error;
        this.exit(scratch, period);
        scratch.error = undefined;
      },
    };
  }

  /** @internal */
  exit(call: Call, token: unknown): void {
    if (token === this.#period && call.ok && this.#plain) {
      this.#window.record(0, 0);
      return;
    }
    this.#settle(call, token);
  }

  #enterProbe(call: Call): Admission {
    if (this.#state === ISOLATED) {
      throw this.#reject(ResilienceErrorCode.CircuitIsolated, 'isolated', 'circuit isolated', {
        state: 'isolated',
        ...this.#rates(),
      });
    }
    let start = 0;
    if (this.#state === OPEN) {
      start = call.now(this.clock);
      const remainingMs = this.#openUntil - start;
      if (remainingMs > 0) {
        throw this.#reject(
          ResilienceErrorCode.CircuitOpen,
          'open',
          `circuit open, ${Math.ceil(remainingMs)}ms left`,
          {
            state: 'open',
            remainingMs,
            ...this.#rates(start),
          },
        );
      }
      this.#transition(HALF_OPEN, 'open-duration-elapsed');
    } else if (this.#cfg.slowCallMs >= 0) {
      start = call.now(this.clock);
    }
    const probes = this.#cfg.probes;
    if (this.#probesInFlight >= probes) {
      throw this.#reject(
        ResilienceErrorCode.CircuitOpen,
        'probes-busy',
        `circuit half-open, ${probes === 1 ? 'the probe call is' : `all ${probes} probe calls are`} running`,
        { state: 'half-open', remainingMs: 0, probesInFlight: this.#probesInFlight, ...this.#rates() },
      );
    }
    this.#probesInFlight++;
    return new Admission(this.#period, start, true);
  }

  #settle(call: Call, token: unknown): void {
    let period: number;
    let start = 0;
    let probe = false;
    if (token instanceof Admission) {
      period = token.period;
      start = token.start;
      probe = token.probe;
      if (probe) this.#probesInFlight--;
    } else {
      period = token as number;
    }
    if (period !== this.#period) return; // admitted before the last state change
    let code = this.#outcome(call);
    if (code === IGNORED) return;
    let now = 0;
    if (this.#timedExit) {
      now = this.clock.now();
      const slowMs = this.#cfg.slowCallMs;
      if (slowMs >= 0 && now - start > slowMs) code |= SLOW;
    }
    if (probe) this.#probeDone(code);
    else this.#record(code, now);
  }

  /** FAILURE, 0 for a success, or IGNORED for a call its caller cancelled. */
  #outcome(call: Call): number {
    const cfg = this.#cfg;
    if (call.ok) {
      const isResultFailure = cfg.isResultFailure;
      if (isResultFailure === undefined) return 0;
      // a throwing predicate must not surface as an unhandled rejection beside the caller's promise
      try {
        return isResultFailure(call.value) ? FAILURE : 0;
      } catch {
        return FAILURE;
      }
    }
    const error = call.error;
    if (cancelledByCaller(call, error)) return IGNORED;
    try {
      return cfg.isFailure(error) ? FAILURE : 0;
    } catch {
      return FAILURE;
    }
  }

  /** Counts a closed-state outcome and opens when the window says so. */
  #record(code: number, now: number): void {
    const w = this.#window;
    const cfg = this.#cfg;
    w.record(code, now);
    if (cfg.mode === 'consecutive') {
      if (code !== 0 && w.calls >= cfg.failures) this.#open('consecutive-failures');
      return;
    }
    if (w.calls < cfg.minCalls) return;
    if (w.failures / w.calls >= cfg.failureRateThreshold) this.#open('failure-rate');
    else if (cfg.slowCallMs >= 0 && w.slowCalls / w.calls >= cfg.slowCallRateThreshold) {
      this.#open('slow-call-rate');
    }
  }

  #probeDone(code: number): void {
    if ((code & FAILURE) !== 0) this.#open('probe-failed');
    else if ((code & SLOW) !== 0) this.#open('probe-slow');
    else if (++this.#probeSuccesses >= this.#cfg.successThreshold)
      this.#transition(CLOSED, 'probes-succeeded');
  }

  #open(reason: BreakerTransitionReason): void {
    if (this.#state === HALF_OPEN) this.#reopenCount++;
    this.#openUntil = this.clock.now() + this.#openDuration();
    this.#transition(OPEN, reason);
  }

  /** The open period for the current re-open count. */
  #openDuration(): number {
    const cfg = this.#cfg;
    return Math.min(cfg.openMaxMs, cfg.openInitialMs * cfg.openFactor ** this.#reopenCount);
  }

  #transition(to: StateCode, reason: BreakerTransitionReason): void {
    const from = this.#state;
    this.#state = to;
    this.#period++;
    this.#probeSuccesses = 0;
    if (to === CLOSED) {
      this.#window.clear();
      this.#reopenCount = 0;
    }
    if (from === to) return;
    publish(channels.breakerState, (): BreakerStateChange => {
      const { failureRate, slowCallRate, calls } = this.#rates();
      return {
        policy: 'circuit-breaker',
        name: this.name,
        from: STATE_NAMES[from],
        to: STATE_NAMES[to],
        reason,
        failureRate,
        slowCallRate,
        calls,
      };
    });
  }

  /** The window as of now (a time window forgets what has left it). */
  #currentWindow(now?: number): OutcomeWindow {
    const w = this.#window;
    if (this.#cfg.mode === 'time') w.advance(now ?? this.clock.now());
    return w;
  }

  #rates(now?: number): { failureRate: number; slowCallRate: number; calls: number } {
    const w = this.#currentWindow(now);
    const calls = w.calls;
    return {
      failureRate: calls === 0 ? 0 : w.failures / calls,
      slowCallRate: calls === 0 ? 0 : w.slowCalls / calls,
      calls,
    };
  }

  #reject(
    code: ResilienceErrorCode,
    reason: string,
    message: string,
    details: Readonly<Record<string, unknown>>,
  ): FaultlineError {
    return rejection(this.#id, code, reason, message, details);
  }

  #restore(s: BreakerSnapshot): void {
    const code = stateCode(s.state);
    if (code === -1) return; // readSnapshot has checked the name
    const wallNow = this.#wallClock();
    const now = this.clock.now();
    this.#state = code;
    this.#reopenCount = code === CLOSED ? 0 : s.reopenCount;
    if (code === OPEN && s.openUntil !== null) {
      // a wall clock that jumped must not keep the breaker open longer than configured
      this.#openUntil = now + Math.min(s.openUntil - wallNow, this.#cfg.openMaxMs);
    }
    if (s.window !== undefined) this.#window.restore(s.window, now, Math.max(0, wallNow - s.savedAt));
  }
}
