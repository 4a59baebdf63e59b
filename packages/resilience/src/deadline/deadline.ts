import { AsyncLocalStorage } from 'node:async_hooks';
import { type Clock, systemClock } from '../core/clock.js';
import { checkNumber, FaultlineError, ResilienceErrorCode } from '../core/errors.js';

/** A point in time by which a request must be done, on the clock that measures it. */
export interface Deadline {
  /** `clock.now()` value at which the deadline passes. */
  readonly at: number;
  readonly clock: Clock;
}

const storage = new AsyncLocalStorage<Deadline>();
// Policies skip the AsyncLocalStorage lookup until a deadline has ever been set.
let everUsed = false;

/**
 * Runs `fn` with a deadline `ms` from now (or the enclosing deadline, if sooner). Timeouts,
 * retries, backoff and hedges inside use only the time that remains.
 * @example app.get('/a', (req, res) => withDeadline(2000, () => handle(req, res)));
 */
export function withDeadline<T>(ms: number, fn: () => T, options: { clock?: Clock } = {}): T {
  checkNumber('deadline', 'ms', ms, 0);
  const clock = options.clock ?? systemClock;
  const at = clock.now() + ms;
  const outer = currentDeadline();
  everUsed = true;
  if (outer !== undefined && outer.clock === clock && outer.at <= at) return storage.run(outer, fn);
  return storage.run({ at, clock }, fn);
}

/** The deadline in force here, if any. */
export function currentDeadline(): Deadline | undefined {
  return everUsed ? storage.getStore() : undefined;
}

/** Milliseconds left before the current deadline (`Infinity` when there is none; never negative). */
export function remainingTime(): number {
  const d = currentDeadline();
  if (d === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(0, d.at - d.clock.now());
}

/** The header that carries the remaining budget between services, in whole milliseconds. */
export const DEADLINE_HEADER = 'x-faultline-deadline-ms';

/**
 * Headers to add to an outgoing request so the callee knows how long the caller will wait
 * (empty when no deadline is set).
 * @example fetch(url, { headers: { ...deadlineHeaders() } })
 */
export function deadlineHeaders(name = DEADLINE_HEADER): Record<string, string> {
  const left = remainingTime();
  if (left === Number.POSITIVE_INFINITY) return {};
  return { [name]: String(Math.floor(left)) };
}

/**
 * Reads a remaining budget sent by {@link deadlineHeaders} (or gRPC's `grpc-timeout`, e.g. `150m`).
 * Returns milliseconds, or undefined when absent or malformed.
 */
export function parseDeadlineHeader(value: string | string[] | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return undefined;
  const grpc = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (grpc !== null) {
    const n = Number(grpc[1]);
    const unit = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[grpc[2] as 'H'];
    return n * unit;
  }
  if (!/^\d+(\.\d+)?$/.test(v)) return undefined;
  return Number(v);
}

/** FL_DEADLINE_EXCEEDED for work that would not start because no time is left. */
export function deadlineExceeded(policy: string, what: string): FaultlineError {
  return new FaultlineError(ResilienceErrorCode.DeadlineExceeded, `${policy}: deadline exceeded, ${what}`, {
    policy,
    retryable: false,
  });
}
