import type { Clock, TimerHandle } from '../core/clock.js';
import type { Scope } from '../core/scope.js';

/**
 * A call waiting for admission: its promise, its timer and abort listener (if any) and its links
 * in a {@link WaiterQueue}, in one object. Only calls that must wait create one.
 * @internal
 */
export class Waiter {
  /** the scope the call waits in; its abort ends the wait */
  readonly scope: Scope;
  /** clock time at which the wait began */
  readonly since: number;
  readonly promise: Promise<unknown>;
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queued = false;
  settled = false;
  /** clock time the waiter is due, for policies that admit waiters on a schedule */
  at = 0;
  timer: TimerHandle | undefined = undefined;
  // plain fields rather than #private ones: one of these is built per waiting call
  _resolve: (token: unknown) => void = noop;
  _reject: (error: unknown) => void = noop;
  _signal: AbortSignal | undefined = undefined;
  _onAbort: (() => void) | undefined = undefined;

  constructor(scope: Scope, since: number) {
    this.scope = scope;
    this.since = since;
    this.promise = new Promise<unknown>((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
  }

  /** Calls `onAbort` once when the scope aborts (until the waiter settles). */
  listen(onAbort: () => void): void {
    const signal = this.scope.signal;
    this._signal = signal;
    this._onAbort = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** The reason the scope was aborted with. */
  get abortReason(): unknown {
    return this._signal === undefined ? this.scope.abortReason().reason : this._signal.reason;
  }

  /** Admits the waiter. The caller has already taken it out of its queue. */
  grant(token: unknown, clock: Clock): void {
    if (this._settle(clock)) this._resolve(token);
  }

  /** Rejects the waiter. The caller has already taken it out of its queue. */
  fail(error: unknown, clock: Clock): void {
    if (this._settle(clock)) this._reject(error);
  }

  _settle(clock: Clock): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) {
      clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const onAbort = this._onAbort;
    if (onAbort !== undefined) {
      this._onAbort = undefined;
      this._signal?.removeEventListener('abort', onAbort);
    }
    return true;
  }
}

function noop(): void {}

/**
 * Waiters in arrival order: a doubly linked list, so that taking from either end or removing an
 * aborted waiter from the middle is O(1).
 * @internal
 */
export class WaiterQueue {
  head: Waiter | null = null;
  tail: Waiter | null = null;
  size = 0;

  push(w: Waiter): void {
    w.queued = true;
    w.prev = this.tail;
    w.next = null;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.size++;
  }

  /** Takes the oldest waiter. */
  shift(): Waiter | undefined {
    const w = this.head;
    if (w === null) return undefined;
    this.remove(w);
    return w;
  }

  /** Takes the newest waiter. */
  pop(): Waiter | undefined {
    const w = this.tail;
    if (w === null) return undefined;
    this.remove(w);
    return w;
  }

  /** Removes `w` if it is queued; returns whether it was. */
  remove(w: Waiter): boolean {
    if (!w.queued) return false;
    w.queued = false;
    if (w.prev !== null) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next !== null) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = null;
    this.size--;
    return true;
  }
}
