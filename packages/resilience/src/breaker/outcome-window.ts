/** Outcome code bit of a failed call. @internal */
export const FAILURE = 1;
/** Outcome code bit of a slow call. @internal */
export const SLOW = 2;

/** One bucket of a time window in a snapshot: its counts and how long ago it began. */
export interface TimeBucketSnapshot {
  readonly ageMs: number;
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
}

/** The counts of a window, JSON-serialisable, as saved by `exportState()`. */
export type WindowSnapshot =
  | {
      readonly kind: 'consecutive';
      readonly calls: number;
      readonly failures: number;
      readonly slowCalls: number;
    }
  /** `outcomes`: oldest first, each 0 (success), 1 (failure), 2 (slow) or 3 (slow failure) */
  | { readonly kind: 'count'; readonly outcomes: readonly number[] }
  | { readonly kind: 'time'; readonly buckets: readonly TimeBucketSnapshot[] };

/**
 * Where a breaker counts the outcomes it decides on. `calls`, `failures` and `slowCalls` are
 * current after `record` or `advance` with the current time.
 * @internal
 */
export interface OutcomeWindow {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Adds an outcome (a combination of FAILURE and SLOW, 0 for a success) at `now`. */
  record(code: number, now: number): void;
  /** Forgets what left the window by `now` (time windows only). */
  advance(now: number): void;
  clear(): void;
  snapshot(now: number): WindowSnapshot;
  /** Loads counts saved `elapsedMs` ago; a snapshot of another kind is ignored. */
  restore(s: WindowSnapshot, now: number, elapsedMs: number): void;
}

/** The current run of failed or slow calls; a success ends it. @internal */
export class ConsecutiveWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;

  record(code: number, _now: number): void {
    if (code === 0) {
      this.calls = 0;
      this.failures = 0;
      this.slowCalls = 0;
      return;
    }
    this.calls++;
    this.failures += code & FAILURE;
    this.slowCalls += (code & SLOW) >> 1;
  }

  advance(_now: number): void {}

  clear(): void {
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
  }

  snapshot(_now: number): WindowSnapshot {
    return { kind: 'consecutive', calls: this.calls, failures: this.failures, slowCalls: this.slowCalls };
  }

  restore(s: WindowSnapshot, _now: number, _elapsedMs: number): void {
    if (s.kind !== 'consecutive') return;
    this.calls = s.calls;
    this.failures = Math.min(s.failures, s.calls);
    this.slowCalls = Math.min(s.slowCalls, s.calls);
  }
}

/** The last `size` outcomes, in a ring. @internal */
export class CountWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  readonly #ring: Uint8Array;
  #next = 0;

  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }

  record(code: number, _now: number): void {
    const ring = this.#ring;
    const i = this.#next;
    if (this.calls === ring.length) {
      const old = ring[i] ?? 0;
      this.failures -= old & FAILURE;
      this.slowCalls -= (old & SLOW) >> 1;
    } else {
      this.calls++;
    }
    ring[i] = code;
    this.failures += code & FAILURE;
    this.slowCalls += (code & SLOW) >> 1;
    this.#next = i + 1 === ring.length ? 0 : i + 1;
  }

  advance(_now: number): void {}

  clear(): void {
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
    this.#next = 0;
  }

  snapshot(_now: number): WindowSnapshot {
    const ring = this.#ring;
    const n = ring.length;
    const outcomes: number[] = [];
    // the oldest outcome sits at #next once the ring is full, at 0 before
    const first = this.calls === n ? this.#next : 0;
    for (let k = 0; k < this.calls; k++) outcomes.push(ring[(first + k) % n] ?? 0);
    return { kind: 'count', outcomes };
  }

  restore(s: WindowSnapshot, now: number, _elapsedMs: number): void {
    if (s.kind !== 'count') return;
    this.clear();
    const keep = s.outcomes.slice(Math.max(0, s.outcomes.length - this.#ring.length));
    for (const code of keep) this.record(code, now);
  }
}

/**
 * Outcomes of the last `durationMs`, in `buckets` buckets: the window covers the current bucket
 * and the `buckets - 1` before it, so a call is forgotten between `durationMs - bucketMs` and
 * `durationMs` after it finished.
 * @internal
 */
export class TimeWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  readonly bucketMs: number;
  readonly #n: number;
  readonly #calls: Float64Array;
  readonly #failures: Float64Array;
  readonly #slow: Float64Array;
  /** index (time / bucketMs) of the newest bucket */
  #head = Number.NEGATIVE_INFINITY;

  constructor(durationMs: number, buckets: number) {
    this.bucketMs = durationMs / buckets;
    this.#n = buckets;
    this.#calls = new Float64Array(buckets);
    this.#failures = new Float64Array(buckets);
    this.#slow = new Float64Array(buckets);
  }

  #slot(index: number): number {
    const n = this.#n;
    return ((index % n) + n) % n;
  }

  advance(now: number): void {
    const index = Math.floor(now / this.bucketMs);
    const head = this.#head;
    if (index <= head) return; // same bucket (or a clock that went back: keep the newest)
    if (index - head >= this.#n) {
      this.clear();
    } else {
      for (let i = head + 1; i <= index; i++) {
        const s = this.#slot(i);
        this.calls -= this.#calls[s] ?? 0;
        this.failures -= this.#failures[s] ?? 0;
        this.slowCalls -= this.#slow[s] ?? 0;
        this.#calls[s] = 0;
        this.#failures[s] = 0;
        this.#slow[s] = 0;
      }
    }
    this.#head = index;
  }

  record(code: number, now: number): void {
    this.advance(now);
    this.#add(this.#slot(this.#head), 1, code & FAILURE, (code & SLOW) >> 1);
  }

  #add(slot: number, calls: number, failures: number, slow: number): void {
    this.#calls[slot] = (this.#calls[slot] ?? 0) + calls;
    this.#failures[slot] = (this.#failures[slot] ?? 0) + failures;
    this.#slow[slot] = (this.#slow[slot] ?? 0) + slow;
    this.calls += calls;
    this.failures += failures;
    this.slowCalls += slow;
  }

  clear(): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
  }

  snapshot(now: number): WindowSnapshot {
    this.advance(now);
    const buckets: TimeBucketSnapshot[] = [];
    const head = this.#head;
    if (head === Number.NEGATIVE_INFINITY) return { kind: 'time', buckets };
    for (let age = 0; age < this.#n; age++) {
      const s = this.#slot(head - age);
      const calls = this.#calls[s] ?? 0;
      if (calls === 0) continue;
      buckets.push({
        ageMs: Math.max(0, now - (head - age) * this.bucketMs),
        calls,
        failures: this.#failures[s] ?? 0,
        slowCalls: this.#slow[s] ?? 0,
      });
    }
    return { kind: 'time', buckets };
  }

  restore(s: WindowSnapshot, now: number, elapsedMs: number): void {
    if (s.kind !== 'time') return;
    this.clear();
    this.advance(now);
    const head = this.#head;
    for (const b of s.buckets) {
      // a bucket comes back while it began less than durationMs ago; the epsilon keeps a bucket
      // that rounding would push one bucket too far back
      const age = Math.max(0, Math.floor((b.ageMs + elapsedMs) / this.bucketMs - 1e-9));
      if (age >= this.#n) continue;
      const index = head - age;
      this.#add(this.#slot(index), b.calls, Math.min(b.failures, b.calls), Math.min(b.slowCalls, b.calls));
    }
  }
}
