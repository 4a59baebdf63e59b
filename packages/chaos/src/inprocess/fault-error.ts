import { type FaultCall, type FaultContext, type FaultOptions, FaultPolicy } from './fault-policy.js';

export interface FaultErrorOptions extends FaultOptions {
  /** The error to throw instead of running the work, or a function making one per call. */
  readonly error: Error | ((ctx: FaultContext) => Error);
}

/**
 * Fails calls with an error instead of running them.
 * @example wrap(retry({ maxRetries: 3 }), faultError({ error: new Error('ECONNRESET'), rate: 0.3 }))
 */
export function faultError(options: FaultErrorOptions): FaultErrorPolicy {
  return new FaultErrorPolicy(options);
}

export class FaultErrorPolicy extends FaultPolicy {
  readonly #error: Error | ((ctx: FaultContext) => Error);
  constructor(options: FaultErrorOptions) {
    super('error', options);
    this.#error = options.error;
  }

  protected _inject(_call: FaultCall, _next: unknown, ctx: FaultContext): Promise<unknown> {
    const e = this.#error;
    const error = typeof e === 'function' ? e(ctx) : e;
    this._publish(ctx, 'error', { error });
    return Promise.reject(error);
  }
}
