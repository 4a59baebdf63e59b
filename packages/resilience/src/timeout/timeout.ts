import type { Call } from '../core/call.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { checkNumber, FaultlineError, invalidOption, ResilienceErrorCode } from '../core/errors.js';
import { channels, publish } from '../core/events.js';
import { PolicyBase } from '../core/pipeline.js';
import { Scope } from '../core/scope.js';
import type { Gate, Middleware, Next, Stage } from '../core/stage.js';
import { currentDeadline, deadlineExceeded } from '../deadline/deadline.js';
import { type TimerNode, TimerQueue } from './timer-queue.js';

export interface TimeoutOptions {
  /**
   * `cooperative` (default): abort the work's signal and wait for the work to settle, then fail
   * with FL_TIMEOUT. `aggressive`: also stop waiting at once, even if the work ignores its signal
   * (the work keeps running in the background; prefer work that honours the signal).
   */
  readonly strategy?: 'cooperative' | 'aggressive';
  /** Name used in errors and events. */
  /**
   * Timer granularity in ms. Calls share one timer that ticks at this interval while calls are
   * pending, and a timeout fires between `ms` and `ms + resolution` after the work started, never
   * early. Default: 1 % of `ms`, between 1 and 25 ms. 0 reads the clock on every call and fires
   * to the timer's own precision (slower on the success path).
   */
  readonly resolution?: number;
  readonly name?: string;
  readonly clock?: Clock;
}

/**
 * Bounds how long work may take. The work's signal is aborted when time is up, so a fetch or a
 * query is really cancelled; inside a deadline ({@link withDeadline}) the shorter of the two wins.
 * @example const t = timeout(2000); await t.execute(({ signal }) => fetch(url, { signal }));
 */
export function timeout(ms: number, options: TimeoutOptions = {}): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}

/** A timed call: the cancellation scope of its work and its entry in the timer queue, in one object. */
class Pending extends Scope implements TimerNode {
  at = 0;
  qPrev: TimerNode | null = null;
  qNext: TimerNode | null = null;
  queued = false;
  own: TimerHandle | undefined = undefined;
  readonly policy: TimeoutPolicy;
  readonly limit: number;
  fired = false;
  error: FaultlineError | undefined = undefined;
  /** aggressive mode: rejects the racing promise */
  reject: ((e: unknown) => void) | undefined = undefined;
  constructor(parent: Scope, limit: number, policy: TimeoutPolicy) {
    super(parent, parent._attempt);
    this.limit = limit;
    this.policy = policy;
  }
  expire(): void {
    this.fired = true;
    const p = this.policy;
    const err = p._timeoutError(this.limit, undefined);
    this.error = err;
    this.abort(err);
    publish(channels.timeout, () => ({
      policy: 'timeout',
      name: p.name,
      timeoutMs: this.limit,
      elapsedMs: p.clock.now() - (this.at - this.limit),
    }));
    this.reject?.(err);
  }
}

export class TimeoutPolicy extends PolicyBase implements Gate {
  readonly stage = 'gate' as const;
  readonly observeOnly = false;
  readonly _stages: readonly Stage[];
  readonly ms: number;
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #label: string;
  readonly #queue: TimerQueue;

  constructor(ms: number, options: TimeoutOptions) {
    super();
    checkNumber('timeout', 'ms', ms, 0);
    const strategy = options.strategy ?? 'cooperative';
    if (strategy !== 'cooperative' && strategy !== 'aggressive') {
      invalidOption('timeout', 'strategy', `must be "cooperative" or "aggressive", got ${String(strategy)}`);
    }
    this.ms = ms;
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#label = options.name === undefined ? 'timeout' : `timeout:${options.name}`;
    const resolution = checkNumber(
      'timeout',
      'resolution',
      options.resolution ?? Math.min(25, Math.max(1, ms / 100)),
      0,
    );
    this.#queue = new TimerQueue(this.clock, ms, resolution);
    this._stages = [strategy === 'aggressive' ? new RacingTimeout(this) : this];
  }

  /** @internal */
  _timeoutError(limit: number, cause: unknown): FaultlineError {
    return new FaultlineError(ResilienceErrorCode.Timeout, `${this.#label}: timed out after ${limit}ms`, {
      policy: this.#label,
      retryable: true,
      cause,
      details: { timeoutMs: limit },
    });
  }

  /** @internal */
  enter(call: Call): Pending {
    const d = currentDeadline();
    if (d !== undefined) {
      const left = d.at - d.clock.now();
      if (left <= 0) throw deadlineExceeded(this.#label, 'not starting the work');
      if (left < this.ms) {
        // a deadline-shortened entry would break the queue's order: give it its own timer
        const entry = new Pending(call.scope, left, this);
        entry.at = this.clock.now() + left;
        entry.own = this.clock.setTimeout(() => entry.expire(), left);
        call.scope = entry;
        return entry;
      }
    }
    const entry = new Pending(call.scope, this.ms, this);
    call.scope = entry;
    const q = this.#queue;
    q.add(entry, q.coarse ? 0 : call.now(this.clock));
    return entry;
  }

  /** @internal */
  exit(call: Call, token: unknown): void {
    const entry = token as Pending;
    if (entry.own !== undefined) this.clock.clearTimeout(entry.own);
    else this.#queue.remove(entry);
    call.scope = entry._parent as Scope;
    entry.dispose();
    if (entry.fired) {
      // the work usually rejects with our own abort reason; anything else is kept as the cause
      const cause = call.ok || call.error === entry.error ? undefined : call.error;
      call.ok = false;
      call.value = undefined;
      call.error = cause === undefined ? entry.error : this._timeoutError(entry.limit, cause);
    }
  }

  /** @internal the number of calls waiting on this policy's shared timer */
  get _pending(): number {
    return this.#queue.size;
  }
}

/** Aggressive mode: the same bookkeeping, plus a race so that the caller is released at once. */
class RacingTimeout implements Middleware {
  readonly stage = 'middleware' as const;
  readonly #gate: TimeoutPolicy;
  constructor(gate: TimeoutPolicy) {
    this.#gate = gate;
  }

  run(call: Call, next: Next): Promise<unknown> {
    const gate = this.#gate;
    let entry: Pending;
    try {
      entry = gate.enter(call);
    } catch (e) {
      return Promise.reject(e);
    }
    const work = next(call);
    const raced = new Promise<unknown>((resolve, reject) => {
      entry.reject = reject;
      work.then(resolve, reject);
    });
    return raced.then(
      (v) => {
        call.ok = true;
        call.value = v;
        gate.exit(call, entry);
        if (call.ok) return call.value;
        throw call.error;
      },
      (e) => {
        call.ok = false;
        call.error = e;
        gate.exit(call, entry);
        throw call.error;
      },
    );
  }
}
