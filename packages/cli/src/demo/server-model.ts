import type { Clock } from '@faultline/resilience';

export interface ServerModelOptions {
  readonly clock: Clock;
  /** requests served at once */
  readonly workers: number;
  /** mean service time; each request takes uniformly between 0.5× and 1.5× of it */
  readonly serviceMs: number;
  /** random source for service times, in [0, 1) */
  readonly random: () => number;
  /**
   * Skip a queued request whose client has already hung up (default true), as a server does that
   * checks the connection or a propagated deadline before starting work. A request already in
   * service always runs to the end.
   */
  readonly dropAbandonedQueued?: boolean;
}

/** Cumulative counters; a caller reads them at the edges of an interval and takes differences. */
export interface ServerCounters {
  /** requests that finished while their client still waited */
  served: number;
  /** requests that finished after their client had gone: work nobody used */
  wasted: number;
  /** queued requests skipped because their client had gone */
  dropped: number;
  /** worker-milliseconds spent in service */
  busyMs: number;
  /** worker-milliseconds available */
  capacityMs: number;
}

interface Job {
  readonly signal: AbortSignal;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  readonly onAbort: () => void;
  abandoned: boolean;
  running: boolean;
}

/**
 * A server with a fixed number of workers and one FIFO queue, on a simulated clock. The client
 * side of a request stops waiting as soon as its signal aborts (the connection is closed), but
 * the server learns of it only when it would start the request: work already in service keeps a
 * worker busy to the end — the wasted work that sustains a retry storm.
 */
export class ServerModel {
  readonly #clock: Clock;
  readonly #serviceMs: number;
  readonly #random: () => number;
  readonly #dropAbandoned: boolean;
  #workers: number;
  #busy = 0;
  #queue: Job[] = [];
  #head = 0;
  #live = 0;
  #since: number;
  readonly #counters: ServerCounters = { served: 0, wasted: 0, dropped: 0, busyMs: 0, capacityMs: 0 };

  constructor(options: ServerModelOptions) {
    this.#clock = options.clock;
    this.#workers = options.workers;
    this.#serviceMs = options.serviceMs;
    this.#random = options.random;
    this.#dropAbandoned = options.dropAbandonedQueued ?? true;
    this.#since = options.clock.now();
  }

  /** Sends one request; resolves when it is served, rejects with the signal's reason on abort. */
  submit(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const job: Job = {
        signal,
        resolve,
        reject,
        abandoned: false,
        running: false,
        onAbort: () => {
          job.abandoned = true;
          if (!job.running && this.#dropAbandoned) this.#live--;
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
      this.#queue.push(job);
      this.#live++;
      this.#dispatch();
    });
  }

  /** Changes the number of workers; requests in service on removed workers still finish. */
  setWorkers(n: number): void {
    this.#account();
    this.#workers = n;
    this.#dispatch();
  }

  get workers(): number {
    return this.#workers;
  }

  /** Requests waiting for a worker whose client still waits (all waiting ones if none are dropped). */
  get queued(): number {
    return this.#live;
  }

  /** Counters up to now. */
  counters(): ServerCounters {
    this.#account();
    return { ...this.#counters };
  }

  #account(): void {
    const now = this.#clock.now();
    const dt = now - this.#since;
    if (dt > 0) {
      this.#counters.busyMs += this.#busy * dt;
      this.#counters.capacityMs += this.#workers * dt;
    }
    this.#since = now;
  }

  #dispatch(): void {
    const q = this.#queue;
    while (this.#busy < this.#workers && this.#head < q.length) {
      const job = q[this.#head++] as Job;
      if (job.abandoned && this.#dropAbandoned) {
        this.#counters.dropped++;
        continue;
      }
      this.#live--;
      this.#start(job);
    }
    if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
  }

  #start(job: Job): void {
    this.#account();
    this.#busy++;
    job.running = true;
    const ms = this.#serviceMs * (0.5 + this.#random());
    this.#clock.setTimeout(() => this.#finish(job), ms);
  }

  #finish(job: Job): void {
    this.#account();
    this.#busy--;
    job.signal.removeEventListener('abort', job.onAbort);
    if (job.abandoned) {
      this.#counters.wasted++;
    } else {
      this.#counters.served++;
      job.resolve();
    }
    this.#dispatch();
  }
}
