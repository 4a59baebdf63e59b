/** Opaque handle of a scheduled callback. */
export type TimerHandle = unknown;

/**
 * The time source of every policy. The default reads `performance.now()` and uses the global
 * timers (looked up at call time, so test runners' fake timers work too); {@link ManualClock}
 * makes tests and simulations deterministic.
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Schedules `fn` after `ms`; the timer must not keep the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told: `advance(ms)` runs due timers in time order, letting
 * promise reactions settle between them (`await clock.advance(100)`).
 * @example const clock = new ManualClock(); const t = timeout(50, { clock }); … await clock.advance(50);
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle !== null && typeof handle === 'object' && 'cancelled' in handle) {
      (handle as ManualTimer).cancelled = true;
    }
  }

  /** Number of timers scheduled and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#nextDue(end);
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      next.cancelled = true;
      next.fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }

  /** Moves time to the next pending timer (if any) and runs it. Returns false if none. */
  async next(): Promise<boolean> {
    const next = this.#nextDue(Number.POSITIVE_INFINITY);
    if (next === undefined) return false;
    await this.advance(next.at - this.#now);
    return true;
  }

  #nextDue(end: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    let live = 0;
    for (const t of this.#timers) {
      if (t.cancelled) continue;
      this.#timers[live++] = t;
      if (t.at <= end && (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq))) {
        best = t;
      }
    }
    this.#timers.length = live;
    return best;
  }
}

/** Lets pending promise reactions run (several macrotask-free turns of the microtask queue). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
