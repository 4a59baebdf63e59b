import { abortedError } from '../core/aborted.js';
import type { Call } from '../core/call.js';
import { type Clock, systemClock } from '../core/clock.js';
import { checkInteger, checkNumber, type FaultlineError, ResilienceErrorCode } from '../core/errors.js';
import { PolicyBase } from '../core/pipeline.js';
import { announce, type PolicyId, policyId, rejection } from '../core/rejection.js';
import { type Gate, type Stage, WAIT } from '../core/stage.js';
import { currentDeadline, deadlineExceeded } from '../deadline/deadline.js';
import { Waiter, WaiterQueue } from './waiter-queue.js';

export interface BulkheadOptions {
  /** Calls that may run at once (an integer ≥ 1). */
  readonly maxConcurrent: number;
  /** Calls that may wait for a slot when all are busy (default 0: reject at once). */
  readonly maxQueued?: number;
  /** Longest wait in the queue, in ms (default: no limit besides the deadline and the caller's signal). */
  readonly acquireTimeoutMs?: number;
  /** Name used in errors and events. */
  readonly name?: string;
  readonly clock?: Clock;
}

/**
 * Caps how many calls run at once, so that one slow dependency cannot take every socket, worker or
 * connection: extra calls wait in a FIFO queue (bounded, abortable, deadline-aware) or are
 * rejected at once with FL_BULKHEAD_FULL.
 * @example const db = bulkhead({ maxConcurrent: 10, maxQueued: 50, acquireTimeoutMs: 200 });
 */
export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}

/** The token of an admitted call: a slot carries no per-call state. */
const SLOT = true;

export class BulkheadPolicy extends PolicyBase implements Gate {
  readonly stage = 'gate' as const;
  readonly observeOnly = true;
  readonly _stages: readonly Stage[] = [this];
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly acquireTimeoutMs: number;
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #id: PolicyId;
  readonly #queue = new WaiterQueue();
  #active = 0;

  constructor(options: BulkheadOptions) {
    super();
    this.maxConcurrent = checkInteger('bulkhead', 'maxConcurrent', options.maxConcurrent, 1);
    this.maxQueued = checkInteger('bulkhead', 'maxQueued', options.maxQueued ?? 0, 0);
    this.acquireTimeoutMs = checkNumber(
      'bulkhead',
      'acquireTimeoutMs',
      options.acquireTimeoutMs ?? Number.POSITIVE_INFINITY,
      0,
    );
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.#id = policyId('bulkhead', options.name);
  }

  /** Calls running now. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Free slots. */
  get available(): number {
    return this.maxConcurrent - this.#active;
  }

  /** @internal */
  enter(_call: Call): unknown {
    // Slots pass straight from a finishing call to the next waiter, so a free slot means no queue.
    if (this.#active < this.maxConcurrent) {
      this.#active++;
      return SLOT;
    }
    if (this.#queue.size < this.maxQueued) return WAIT;
    throw this.#full();
  }

  /** @internal */
  wait(call: Call): Promise<unknown> {
    if (this.#active < this.maxConcurrent) {
      this.#active++;
      return Promise.resolve(SLOT);
    }
    if (this.#queue.size >= this.maxQueued) return Promise.reject(this.#full());
    const scope = call.scope;
    if (scope.aborted) return Promise.reject(abortedError(scope.abortReason().reason, this.#id.label));
    let limit = this.acquireTimeoutMs;
    let byDeadline = false;
    const d = currentDeadline();
    if (d !== undefined) {
      const left = d.at - d.clock.now();
      if (left <= 0) {
        return Promise.reject(
          announce(this.#id, deadlineExceeded(this.#id.label, 'not queueing for a slot'), 'deadline'),
        );
      }
      if (left < limit) {
        limit = left;
        byDeadline = true;
      }
    }
    const clock = this.clock;
    const w = new Waiter(scope, clock.now());
    this.#queue.push(w);
    if (limit !== Number.POSITIVE_INFINITY) {
      w.timer = clock.setTimeout(() => {
        w.timer = undefined;
        this.#queue.remove(w);
        w.fail(byDeadline ? this.#deadlinePassed() : this.#timedOut(clock.now() - w.since), clock);
      }, limit);
    }
    w.listen(() => {
      this.#queue.remove(w);
      w.fail(abortedError(w.abortReason, this.#id.label), clock);
    });
    return w.promise;
  }

  /** @internal */
  exit(_call: Call, _token: unknown): void {
    // hand the slot to the next waiter; aborted waiters have already left the queue
    const next = this.#queue.shift();
    if (next === undefined) this.#active--;
    else next.grant(SLOT, this.clock);
  }

  #details(): Record<string, unknown> {
    return {
      active: this.#active,
      queued: this.#queue.size,
      maxConcurrent: this.maxConcurrent,
      maxQueued: this.maxQueued,
    };
  }

  #full(): FaultlineError {
    return rejection(
      this.#id,
      ResilienceErrorCode.BulkheadFull,
      'full',
      `all ${this.maxConcurrent} slots busy and ${this.#queue.size} of ${this.maxQueued} queue places taken`,
      this.#details(),
    );
  }

  #timedOut(waitedMs: number): FaultlineError {
    return rejection(
      this.#id,
      ResilienceErrorCode.BulkheadTimeout,
      'acquire-timeout',
      `no slot within ${this.acquireTimeoutMs}ms`,
      { ...this.#details(), acquireTimeoutMs: this.acquireTimeoutMs, waitedMs },
    );
  }

  #deadlinePassed(): FaultlineError {
    return announce(this.#id, deadlineExceeded(this.#id.label, 'while queued for a slot'), 'deadline');
  }
}
