import type { Clock, TimerHandle } from '../core/clock.js';

/** What the queue needs of a pending timeout. @internal */
export interface TimerNode {
  /** clock time at which the node expires; Infinity until its start time is fixed */
  at: number;
  qPrev: TimerNode | null;
  qNext: TimerNode | null;
  queued: boolean;
  /** Called once when the node expires. */
  expire(): void;
}

/**
 * All pending timeouts of one policy, sharing a single unref'd timer.
 *
 * Entries of one duration are due in the order they were added, so the queue is a linked list and
 * adding or removing is O(1), with no timer created or cleared per call. With a `resolution` above
 * zero, adding does not even read the clock: entries added since the last tick form an open group
 * whose start is fixed at the next tick (never before it), so each timeout fires between `ms` and
 * `ms + resolution` after the work started — even when the event loop was blocked in between,
 * since a group's start is only fixed once the loop runs again. The timer ticks only while entries
 * are pending. With `resolution` 0, every entry reads the clock and fires on time to the timer's
 * own precision.
 * @internal
 */
export class TimerQueue {
  #head: TimerNode | null = null;
  #tail: TimerNode | null = null;
  /** first entry of the open group (start not yet fixed) */
  #open: TimerNode | null = null;
  #timer: TimerHandle | undefined = undefined;
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #resolution: number;
  readonly #onTimer = () => this.#fire();

  constructor(clock: Clock, ms: number, resolution: number) {
    this.#clock = clock;
    this.#ms = ms;
    this.#resolution = resolution;
  }

  /** Adds an entry; `now` is used only in exact mode (resolution 0). */
  add(e: TimerNode, now: number): void {
    e.queued = true;
    if (this.#resolution === 0) {
      e.at = now + this.#ms;
    } else {
      e.at = Number.POSITIVE_INFINITY;
      if (this.#open === null) this.#open = e;
    }
    const tail = this.#tail;
    if (tail === null) {
      this.#head = this.#tail = e;
      if (this.#timer === undefined) {
        this.#timer = this.#clock.setTimeout(
          this.#onTimer,
          this.#resolution === 0 ? this.#ms : this.#resolution,
        );
      }
    } else {
      tail.qNext = e;
      e.qPrev = tail;
      this.#tail = e;
    }
  }

  /** Whether the queue reads the clock itself (coarse mode) rather than per entry. */
  get coarse(): boolean {
    return this.#resolution > 0;
  }

  remove(e: TimerNode): void {
    if (!e.queued) return;
    e.queued = false;
    if (this.#open === e) this.#open = e.qNext;
    if (e.qPrev !== null) e.qPrev.qNext = e.qNext;
    else this.#head = e.qNext;
    if (e.qNext !== null) e.qNext.qPrev = e.qPrev;
    else this.#tail = e.qPrev;
    e.qPrev = e.qNext = null;
  }

  #fire(): void {
    this.#timer = undefined;
    const clock = this.#clock;
    const now = clock.now();
    // timers may fire a hair early; treat anything due within half a millisecond as due
    for (let e = this.#head; e !== null && e.at <= now + 0.5; e = this.#head) {
      this.remove(e);
      e.expire();
    }
    if (this.#open !== null) {
      const at = now + this.#ms;
      for (let e: TimerNode | null = this.#open; e !== null; e = e.qNext) e.at = at;
      this.#open = null;
    }
    const head = this.#head;
    if (head === null) return;
    const delay = this.#resolution === 0 ? Math.max(0, head.at - now) : this.#resolution;
    this.#timer = clock.setTimeout(this.#onTimer, delay);
  }

  /** Pending entries. */
  get size(): number {
    let n = 0;
    for (let e = this.#head; e !== null; e = e.qNext) n++;
    return n;
  }

  /** Whether the shared timer is scheduled. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }
}
