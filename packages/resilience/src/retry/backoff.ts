import { checkNumber } from '../core/errors.js';

/** Chooses the delay before retry number `attempt` (1 for the first retry). */
export interface Backoff {
  next(attempt: number, previousDelay: number, random: () => number): number;
}

/** How much randomness to add: `full` picks in [0, d], `equal` in [d/2, d], `none` keeps d. */
export type Jitter = 'full' | 'equal' | 'none';

function jitter(d: number, kind: Jitter, random: () => number): number {
  if (kind === 'full') return random() * d;
  if (kind === 'equal') return d / 2 + (random() * d) / 2;
  return d;
}

/**
 * The same delay every time.
 * @example retry({ backoff: constant(200) })
 */
export function constant(ms: number, options: { jitter?: Jitter } = {}): Backoff {
  checkNumber('backoff', 'ms', ms, 0);
  const kind = options.jitter ?? 'none';
  return { next: (_a, _p, random) => jitter(ms, kind, random) };
}

export interface ExponentialOptions {
  /** first delay (default 100 ms) */
  readonly initial?: number;
  /** cap (default 10 s) */
  readonly max?: number;
  /** growth per retry (default 2) */
  readonly factor?: number;
  /** default `full` (AWS's "full jitter") */
  readonly jitter?: Jitter;
}

/**
 * `initial × factor^(attempt-1)`, capped at `max`, with jitter so that clients that failed
 * together do not retry together.
 * @example retry({ backoff: exponential({ initial: 50, max: 2000 }) })
 */
export function exponential(options: ExponentialOptions = {}): Backoff {
  const initial = checkNumber('backoff', 'initial', options.initial ?? 100, 0);
  const max = checkNumber('backoff', 'max', options.max ?? 10_000, initial);
  const factor = checkNumber('backoff', 'factor', options.factor ?? 2, 1);
  const kind = options.jitter ?? 'full';
  return {
    next: (attempt, _p, random) => jitter(Math.min(max, initial * factor ** (attempt - 1)), kind, random),
  };
}

/**
 * AWS's "decorrelated jitter": each delay is random in [initial, previous × 3], capped at `max`.
 * Spreads retries well and grows about as fast as exponential backoff.
 * @example retry({ backoff: decorrelatedJitter({ initial: 100, max: 5000 }) })
 */
export function decorrelatedJitter(options: { initial?: number; max?: number } = {}): Backoff {
  const initial = checkNumber('backoff', 'initial', options.initial ?? 100, 0);
  const max = checkNumber('backoff', 'max', options.max ?? 10_000, initial);
  return {
    next: (_attempt, previous, random) => {
      const prev = Math.max(previous, initial);
      return Math.min(max, initial + random() * (prev * 3 - initial));
    },
  };
}
