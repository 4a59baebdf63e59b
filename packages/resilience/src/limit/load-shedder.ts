import { Waiter, WaiterQueue } from '../bulkhead/waiter-queue.js';
import { abortedError } from '../core/aborted.js';
import type { Call } from '../core/call.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { checkInteger, checkNumber, type FaultlineError, ResilienceErrorCode } from '../core/errors.js';
import { PolicyBase } from '../core/pipeline.js';
import { announce, type PolicyId, policyId, rejection } from '../core/rejection.js';
import { type Gate, type Stage, WAIT } from '../core/stage.js';
import { currentDeadline, deadlineExceeded } from '../deadline/deadline.js';

export interface LoadShedderOptions {
  /** Calls that may run at once (an integer ≥ 1). */
  readonly maxConcurrent: number;
  /** Calls that may wait for a slot (an integer ≥ 0, or Infinity). */
  readonly maxQueued: number;
  /** Queueing delay the shedder aims to stay under, in ms (default 5). */
  readonly targetDelayMs?: number;
  /** How long the queueing delay must stay above target before shedding starts, in ms (default 100). */
  readonly intervalMs?: number;
  /**
   * While shedding, serve the newest waiter first (adaptive LIFO, default true): fresh requests
   * still meet their callers' deadlines while stale ones are shed. With `false`, the queue stays
   * FIFO and calls arriving while shedding are refused at once.
   */
  readonly lifo?: boolean;
  /** Name used in errors and events. */
  readonly name?: string;
  readonly clock?: Clock;
}

/**
 * CoDel-style load shedding: calls queue for one of `maxConcurrent` slots; when the queueing
 * delay has stayed above `targetDelayMs` for a whole `intervalMs`, the shedder starts dropping:
 * waiters that reach `targetDelayMs` fail with FL_LOAD_SHED and the newest are served first,
 * until the queue drains or no waiter reached the target for an interval.
 * @example const shed = loadShedder({ maxConcurrent: 32, maxQueued: 1000 });
 */
export function loadShedder(options: LoadShedderOptions): LoadShedderPolicy {
  return new LoadShedderPolicy(options);
}

/** The token of an admitted call. */
const SLOT = true;

export class LoadShedderPolicy extends PolicyBase implements Gate {
  readonly stage = 'gate' as const;
  readonly observeOnly = true;
  readonly _stages: readonly Stage[] = [this];
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly targetDelayMs: number;
  readonly intervalMs: number;
  readonly lifo: boolean;
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #id: PolicyId;
  /** waiters, oldest first (also while serving newest first) */
  readonly #queue = new WaiterQueue();
  #active = 0;
  #dropping = false;
  /** while not dropping, with waiters: when the queueing delay reached (or will reach) the target */
  #aboveSince = 0;
  /** while dropping: when a waiter was last shed or an arrival refused */
  #lastShed = 0;
  #timer: TimerHandle | undefined = undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #onTimer = () => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    this.#update(now);
    this.#schedule(now);
  };

  constructor(options: LoadShedderOptions) {
    super();
    const k = 'load-shedder';
    this.maxConcurrent = checkInteger(k, 'maxConcurrent', options.maxConcurrent, 1);
    this.maxQueued = checkInteger(k, 'maxQueued', options.maxQueued, 0);
    this.targetDelayMs = checkNumber(k, 'targetDelayMs', options.targetDelayMs ?? 5, 0, Number.MAX_VALUE);
    this.intervalMs = checkNumber(k, 'intervalMs', options.intervalMs ?? 100, 0, Number.MAX_VALUE);
    this.lifo = options.lifo ?? true;
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#id = policyId(k, options.name);
  }

  /** Calls running now. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Whether the shedder is dropping (queueing delay stayed above target for an interval). */
  get dropping(): boolean {
    return this.#dropping;
  }

  /** @internal */
  enter(call: Call): unknown {
    // a free slot means an empty queue: no queueing delay at all
    if (this.#active < this.maxConcurrent && this.#queue.size === 0) {
      this.#dropping = false;
      this.#active++;
      return SLOT;
    }
    const now = call.now(this.clock);
    this.#update(now);
    this.#schedule(now);
    if (this.#dropping && !this.lifo) {
      this.#lastShed = now;
      throw this.#shed('overloaded', 'refusing new calls while the queue is overloaded', undefined);
    }
    if (this.#queue.size >= this.maxQueued) {
      const oldest = this.#queue.head;
      if (!this.#dropping || !this.lifo || oldest === null) {
        throw this.#shed('queue-full', `queue full (${this.maxQueued} waiting)`, undefined);
      }
      const scope = call.scope;
      if (scope.aborted) throw abortedError(scope.abortReason().reason, this.#id.label);
      // serving newest first: the oldest waiter makes room for the fresh call
      this.#drop(oldest, now, 'evicted');
      this.#schedule(now);
    }
    return WAIT;
  }

  /** @internal */
  wait(call: Call): Promise<unknown> {
    if (this.#active < this.maxConcurrent && this.#queue.size === 0) {
      this.#active++;
      return Promise.resolve(SLOT);
    }
    if (this.#queue.size >= this.maxQueued) {
      return Promise.reject(this.#shed('queue-full', `queue full (${this.maxQueued} waiting)`, undefined));
    }
    const label = this.#id.label;
    const scope = call.scope;
    if (scope.aborted) return Promise.reject(abortedError(scope.abortReason().reason, label));
    const clock = this.clock;
    const now = call.now(clock);
    const d = currentDeadline();
    let left = Number.POSITIVE_INFINITY;
    if (d !== undefined) {
      left = d.at - d.clock.now();
      if (left <= 0) {
        return Promise.reject(
          announce(this.#id, deadlineExceeded(label, 'not queueing for a slot'), 'deadline'),
        );
      }
    }
    const w = new Waiter(scope, now);
    const queue = this.#queue;
    if (queue.size === 0) this.#aboveSince = now + this.targetDelayMs;
    queue.push(w);
    if (left !== Number.POSITIVE_INFINITY) {
      w.timer = clock.setTimeout(() => {
        w.timer = undefined;
        this.#leave(w, clock.now());
        w.fail(announce(this.#id, deadlineExceeded(label, 'while queued for a slot'), 'deadline'), clock);
      }, left);
    }
    w.listen(() => {
      this.#leave(w, clock.now());
      w.fail(abortedError(w.abortReason, label), clock);
    });
    this.#schedule(now);
    return w.promise;
  }

  /** @internal */
  exit(_call: Call, _token: unknown): void {
    const queue = this.#queue;
    if (queue.size === 0) {
      this.#active--;
      return;
    }
    const now = this.clock.now();
    this.#update(now);
    const head = queue.head;
    const next = this.#dropping && this.lifo ? queue.pop() : queue.shift();
    if (next === undefined) {
      this.#active--;
    } else {
      if (next === head) this.#headChanged(now);
      // the slot passes straight on: `active` does not change
      next.grant(SLOT, this.clock);
    }
    this.#schedule(now);
  }

  /**
   * The CoDel state machine, run on every slow-path event (a call that must queue, a slot handed
   * on, the timer). The queueing delay is the age of the oldest waiter.
   */
  #update(now: number): void {
    if (!this.#dropping) {
      // the delay has been at or above target since #aboveSince, with no dip: overloaded
      if (this.#queue.size > 0 && now >= this.#aboveSince + this.intervalMs) {
        this.#dropping = true;
        this.#lastShed = now;
        this.#shedAged(now);
      }
      return;
    }
    this.#shedAged(now);
    if (now - this.#lastShed >= this.intervalMs) {
      // no waiter reached the target for a whole interval: the delay is below target again
      this.#dropping = false;
      const head = this.#queue.head;
      if (head !== null) this.#aboveSince = head.since + this.targetDelayMs;
    }
  }

  /** While dropping: sheds every waiter that has waited `targetDelayMs` or more (the oldest first). */
  #shedAged(now: number): void {
    const queue = this.#queue;
    for (let w = queue.head; w !== null && now - w.since >= this.targetDelayMs; w = queue.head) {
      this.#drop(w, now, 'sojourn');
    }
  }

  /** Sheds a waiter; the caller reschedules the timer. */
  #drop(w: Waiter, now: number, reason: 'sojourn' | 'evicted'): void {
    this.#remove(w, now);
    this.#lastShed = now;
    const waited = now - w.since;
    w.fail(
      this.#shed(
        reason,
        reason === 'sojourn'
          ? `shed after waiting ${waited}ms while overloaded (target ${this.targetDelayMs}ms)`
          : 'evicted from the queue by a newer call while overloaded',
        waited,
      ),
      this.clock,
    );
  }

  /** Takes `w` out of the queue (aborted, past its deadline), keeping the bookkeeping and the timer right. */
  #leave(w: Waiter, now: number): void {
    this.#remove(w, now);
    this.#schedule(now);
  }

  #remove(w: Waiter, now: number): void {
    const wasHead = this.#queue.head === w;
    if (this.#queue.remove(w) && wasHead) this.#headChanged(now);
  }

  /**
   * The oldest waiter changed: if it is younger than the target, the delay dipped below target
   * and the interval starts again; otherwise the delay stayed above target all along.
   */
  #headChanged(now: number): void {
    const head = this.#queue.head;
    if (head === null) return;
    const due = head.since + this.targetDelayMs;
    if (due > now) this.#aboveSince = due;
  }

  /** One timer for the whole queue: when the next waiter is due to be shed, or shedding may start. */
  #schedule(now: number): void {
    const head = this.#queue.head;
    let at = Number.POSITIVE_INFINITY;
    if (head !== null)
      at = this.#dropping ? head.since + this.targetDelayMs : this.#aboveSince + this.intervalMs;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at !== Number.POSITIVE_INFINITY)
      this.#timer = this.clock.setTimeout(this.#onTimer, Math.max(0, at - now));
  }

  #shed(reason: string, message: string, sojournMs: number | undefined): FaultlineError {
    return rejection(this.#id, ResilienceErrorCode.LoadShed, reason, message, {
      reason,
      active: this.#active,
      queued: this.#queue.size,
      dropping: this.#dropping,
      targetDelayMs: this.targetDelayMs,
      intervalMs: this.intervalMs,
      ...(sojournMs === undefined ? {} : { sojournMs }),
    });
  }
}
