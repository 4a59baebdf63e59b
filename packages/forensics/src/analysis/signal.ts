/**
 * A signal: one regularly sampled time series about one service (and maybe one instance), with
 * the direction in which it gets worse. Metrics, spans and logs all become signals so that one
 * change-point detector and one ranking treat every kind of evidence alike.
 */
import type { Direction } from './change-point.js';

export type SignalSource = 'metric' | 'span' | 'log';

/** What a signal measures, for weighting and for naming the mechanism. */
export type SignalKind =
  | 'cpu'
  | 'memory'
  | 'gc'
  | 'latency'
  | 'self-time'
  | 'errors'
  | 'availability'
  | 'saturation'
  | 'traffic'
  | 'log-template'
  | 'other';

export interface Signal {
  /** Unique and readable: `metric cpuusagerate{pod=…}`, `span latency p95`, `log template T12`. */
  readonly id: string;
  readonly service: string;
  readonly instance: string | null;
  readonly source: SignalSource;
  readonly kind: SignalKind;
  /** Short human name: `cpuusagerate`, `p95 latency`, `error logs`, `edge a→b p95`. */
  readonly name: string;
  /** Time of values[0], epoch ms. */
  readonly startMs: number;
  readonly stepMs: number;
  /** One value per step; NaN where nothing was measured. */
  readonly values: Float64Array;
  /** Which way is bad. */
  readonly bad: Direction;
  /** A user-visible health signal (errors, latency, availability): these define incidents. */
  readonly health: boolean;
  /** Counts of events (Poisson noise floor applies). */
  readonly countData: boolean;
  /** The measurement's resolution in its own unit (1 for span timings in ms): a floor on σ. */
  readonly minScale?: number;
  /** For template signals: the template id and text. */
  readonly templateId?: string;
  readonly template?: string;
  /** For caller→callee edge signals: the caller. */
  readonly caller?: string;
}

/** The index of `timeMs` in a signal (may be out of range). */
export function indexOf(signal: Signal, timeMs: number): number {
  return Math.floor((timeMs - signal.startMs) / signal.stepMs);
}

/** The time of index `i` of a signal. */
export function timeOf(signal: Signal, i: number): number {
  return signal.startMs + i * signal.stepMs;
}
