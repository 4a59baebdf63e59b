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

const before = (a: ManualTimer, b: ManualTimer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/**
 * A clock that moves only when told: `advance(ms)` runs due timers in time order, letting
 * promise reactions settle between them (`await clock.advance(100)`). Timers sit in a binary
 * heap, so simulations with many pending timers stay fast.
 * @example const clock = new ManualClock(); const t = timeout(50, { clock }); … await clock.advance(50);
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #heap: ManualTimer[] = [];
  #live = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#push(timer);
    this.#live++;
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle !== null && typeof handle === 'object' && 'cancelled' in handle) {
      const t = handle as ManualTimer;
      if (!t.cancelled) {
        t.cancelled = true;
        this.#live--;
      }
    }
  }

  /** Number of timers scheduled and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.#live;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#peek();
      if (next === undefined || next.at > end) break;
      this.#pop();
      this.#now = Math.max(this.#now, next.at);
      next.cancelled = true;
      this.#live--;
      next.fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }

  /** Moves time to the next pending timer (if any) and runs it. Returns false if none. */
  async next(): Promise<boolean> {
    const next = this.#peek();
    if (next === undefined) return false;
    await this.advance(next.at - this.#now);
    return true;
  }

  /** The earliest live timer, dropping cancelled ones from the top. */
  #peek(): ManualTimer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || !top.cancelled) return top;
      this.#pop();
    }
  }

  #push(t: ManualTimer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as ManualTimer;
      if (!before(t, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = t;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r] as ManualTimer, h[l] as ManualTimer) ? r : l;
      if (!before(h[c] as ManualTimer, last)) break;
      h[i] = h[c] as ManualTimer;
      i = c;
    }
    h[i] = last;
  }
}

/** Lets pending promise reactions run (several macrotask-free turns of the microtask queue). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
