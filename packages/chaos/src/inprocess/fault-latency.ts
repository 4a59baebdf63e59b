import {
  abortedError,
  type FaultCall,
  type FaultContext,
  type FaultNext,
  type FaultOptions,
  FaultPolicy,
  type FaultTimers,
  globalTimers,
  invalidFaultOption,
} from './fault-policy.js';

export interface FaultLatencyOptions extends FaultOptions {
  /** Delay to inject before the work runs, in ms, or a function of the call. */
  readonly ms: number | ((ctx: FaultContext) => number);
  /** Timers (default the global ones; @faultline/resilience's `ManualClock` fits). */
  readonly clock?: FaultTimers;
}

/**
 * Delays calls before they run. The wait honours the call's signal: an abort (the caller's, or a
 * timeout policy outside) stops it at once and the work does not run.
 * @example const slowDb = faultLatency({ ms: 800, rate: 0.2 }); wrap(timeout(500), slowDb)
 */
export function faultLatency(options: FaultLatencyOptions): FaultLatencyPolicy {
  return new FaultLatencyPolicy(options);
}

export class FaultLatencyPolicy extends FaultPolicy {
  readonly #ms: number | ((ctx: FaultContext) => number);
  readonly #timers: FaultTimers;
  constructor(options: FaultLatencyOptions) {
    super('latency', options);
    const ms = options.ms;
    if (typeof ms !== 'function') checkDelay(this._label, ms);
    this.#ms = ms;
    this.#timers = options.clock ?? globalTimers;
  }

  protected _inject<C extends FaultCall>(call: C, next: FaultNext<C>, ctx: FaultContext): Promise<unknown> {
    const ms = typeof this.#ms === 'function' ? checkDelay(this._label, this.#ms(ctx)) : this.#ms;
    this._publish(ctx, 'latency', { delayMs: ms });
    if (ms === 0) return next(call);
    return sleep(ms, ctx.signal, this.#timers, this._label).then(() => next(call));
  }
}

function checkDelay(label: string, ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    invalidFaultOption(label, 'ms', `must be a finite number >= 0, got ${String(ms)}`);
  }
  return ms;
}

/** Waits `ms`, rejecting as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal, timers: FaultTimers, label: string): Promise<void> {
  if (signal.aborted) return Promise.reject(abortedError(signal.reason, label));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      timers.clearTimeout(handle);
      reject(abortedError(signal.reason, label));
    };
    const handle = timers.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
