import { createWriteStream, type WriteStream } from 'node:fs';
import { DEADLINE_HEADER, RetryBudget } from '@faultline/resilience';
import type { LabMode } from '../app/app-config.js';
import { PRODUCTS } from '../db/schema.js';
import { type AttemptResult, attempt } from './attempt.js';

const RAMP_MS = 5000;

/** Client behaviour per mode. */
export interface ClientPolicy {
  /** the caller gives up on a logical request after this */
  readonly deadlineMs: number;
  /** per-attempt timeout (baseline), or the remaining deadline (hardened) */
  readonly attemptTimeoutMs: number;
  readonly maxRetries: number;
  /** baseline: retry at once; hardened: decorrelated jitter between these bounds */
  readonly backoff: 'none' | { readonly initialMs: number; readonly maxMs: number };
  /** hardened: retries never exceed this share of first attempts (plus a small floor) */
  readonly budgetRatio?: number;
  /** send the remaining deadline to the server */
  readonly propagateDeadline: boolean;
}

/** The client a typical service ships with: 1 s timeout, 3 immediate retries on any failure. */
export const NAIVE_CLIENT: ClientPolicy = {
  deadlineMs: 2000,
  attemptTimeoutMs: 1000,
  maxRetries: 3,
  backoff: 'none',
  propagateDeadline: false,
};

/** Budgeted (10 %), jittered retries within the deadline; "overloaded" answers are not retried. */
export const CAREFUL_CLIENT: ClientPolicy = {
  deadlineMs: 2000,
  attemptTimeoutMs: 2000,
  maxRetries: 2,
  backoff: { initialMs: 50, maxMs: 400 },
  budgetRatio: 0.1,
  propagateDeadline: true,
};

export function clientPolicy(mode: LabMode): ClientPolicy {
  return mode === 'hardened' ? CAREFUL_CLIENT : NAIVE_CLIENT;
}

/** One logical request, as the client saw it. */
export interface RequestOutcome {
  /** start, epoch ms */
  readonly t: number;
  /** until success, or until the client gave up */
  readonly ms: number;
  /** succeeded within the deadline */
  readonly ok: boolean;
  readonly status: number;
  readonly attempts: number;
  readonly degraded: boolean;
  readonly error?: string;
}

/** Counters since start and for the last completed second, for live progress. */
export interface LoadStats {
  readonly sent: number;
  readonly completed: number;
  readonly ok: number;
  readonly attempts: number;
  readonly inFlight: number;
  readonly rps: number;
  /** availability of the requests that completed in the last full second (NaN if none) */
  readonly lastSecondAvailability: number;
}

export interface LoadGeneratorOptions {
  readonly target: string;
  readonly policy: ClientPolicy;
  readonly rps: number;
  readonly outcomesFile: string;
  readonly random?: () => number;
  /** told of every logical request when it ends (e.g. to count it in metrics) */
  readonly onOutcome?: (outcome: RequestOutcome) => void;
}

/**
 * An open-loop load generator: logical requests start at the set rate whatever happens to the
 * earlier ones (a closed loop slows down with the server and hides overload). Each logical
 * request is retried per the client policy and written as one JSON line when it ends.
 */
export class LoadGenerator {
  private rps: number;
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private started = 0;
  private last = 0;
  private readonly out: WriteStream;
  private readonly budget: RetryBudget | undefined;
  private readonly random: () => number;
  private sent = 0;
  private completed = 0;
  private ok = 0;
  private attempts = 0;
  private inFlight = 0;
  private second = { at: 0, ok: 0, done: 0, lastAvail: Number.NaN };
  private seq = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: LoadGeneratorOptions) {
    this.rps = options.rps;
    this.out = createWriteStream(options.outcomesFile, { flags: 'a' });
    this.random = options.random ?? Math.random;
    this.budget =
      options.policy.budgetRatio === undefined
        ? undefined
        : new RetryBudget({ ratio: options.policy.budgetRatio, minRetriesPerSecond: 2, windowMs: 10_000 });
  }

  start(): void {
    this.last = performance.now();
    this.started = this.last;
    this.second.at = Math.floor(Date.now() / 1000);
    // a 5 ms tick: arrivals are spread evenly, and a stalled tick catches up at once
    this.timer = setInterval(() => this.tick(), 5);
  }

  setRate(rps: number): void {
    this.rps = Math.max(0, rps);
  }

  stats(): LoadStats {
    return {
      sent: this.sent,
      completed: this.completed,
      ok: this.ok,
      attempts: this.attempts,
      inFlight: this.inFlight,
      rps: this.rps,
      lastSecondAvailability: this.second.lastAvail,
    };
  }

  /** Stops starting requests, waits (bounded by the deadline) for those in flight, closes the file. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.race([
      Promise.all(this.pending),
      new Promise((r) => setTimeout(r, this.options.policy.deadlineMs * 3).unref()),
    ]);
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
  }

  private tick(): void {
    const now = performance.now();
    // a 5 s ramp from a fifth of the rate: traffic arrives as it does after a deploy, not as a step
    // that would make the stack's own start-up (JIT, first connections) the incident
    const ramp = Math.min(1, 0.2 + (0.8 * (now - this.started)) / RAMP_MS);
    this.due += ((now - this.last) / 1000) * this.rps * ramp;
    this.last = now;
    // never a burst of more than a second's worth after a long stall of this process
    if (this.due > this.rps) this.due = this.rps;
    while (this.due >= 1) {
      this.due -= 1;
      const p = this.logical().finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  private async logical(): Promise<void> {
    const { policy } = this.options;
    const t = Date.now();
    const start = performance.now();
    const id = 1 + Math.floor(this.random() ** 2 * PRODUCTS);
    const url = new URL(`/api/products/${id}`, this.options.target);
    const requestId = `load-${process.pid}-${++this.seq}`;
    this.sent++;
    this.inFlight++;
    let attempts = 0;
    let last: AttemptResult = { status: 0, overloaded: false, degraded: false, error: 'not sent' };
    let okAt: number | undefined;
    let backoffMs = policy.backoff === 'none' ? 0 : policy.backoff.initialMs;
    for (;;) {
      const elapsed = performance.now() - start;
      const remaining = policy.deadlineMs - elapsed;
      if (policy.propagateDeadline && remaining <= 0) break;
      attempts++;
      this.attempts++;
      const headers: Record<string, string> = { 'x-request-id': `${requestId}-${attempts}` };
      if (policy.propagateDeadline) headers[DEADLINE_HEADER] = String(Math.floor(remaining));
      const timeoutMs = policy.propagateDeadline ? remaining : policy.attemptTimeoutMs;
      if (attempts === 1) this.budget?.recordCall();
      last = await attempt(url, headers, timeoutMs);
      if (last.status >= 200 && last.status < 500 && last.status !== 429) {
        okAt = performance.now();
        break;
      }
      if (attempts > policy.maxRetries) break;
      if (policy.backoff !== 'none') {
        if (last.overloaded) break; // the server asked us not to
        if (this.budget !== undefined && !this.budget.tryRetry()) break;
        const cap = policy.backoff.maxMs;
        backoffMs = Math.min(
          cap,
          policy.backoff.initialMs + this.random() * (backoffMs * 3 - policy.backoff.initialMs),
        );
        if (performance.now() - start + backoffMs >= policy.deadlineMs) break;
        await new Promise((r) => setTimeout(r, backoffMs));
      }
    }
    const ms = (okAt ?? performance.now()) - start;
    const ok = okAt !== undefined && last.status < 400 && ms <= policy.deadlineMs;
    this.inFlight--;
    this.completed++;
    if (ok) this.ok++;
    this.countSecond(ok);
    const outcome: RequestOutcome = {
      t,
      ms: Math.round(ms * 10) / 10,
      ok,
      status: last.status,
      attempts,
      degraded: last.degraded,
      ...(last.error === undefined ? {} : { error: last.error }),
    };
    this.out.write(`${JSON.stringify(outcome)}\n`);
    this.options.onOutcome?.(outcome);
  }

  private countSecond(ok: boolean): void {
    const s = Math.floor(Date.now() / 1000);
    if (s !== this.second.at) {
      this.second.lastAvail = this.second.done === 0 ? Number.NaN : this.second.ok / this.second.done;
      this.second.at = s;
      this.second.ok = 0;
      this.second.done = 0;
    }
    this.second.done++;
    if (ok) this.second.ok++;
  }
}
