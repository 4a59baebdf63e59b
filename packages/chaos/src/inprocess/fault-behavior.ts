import {
  type FaultCall,
  type FaultContext,
  type FaultNext,
  type FaultOptions,
  FaultPolicy,
} from './fault-policy.js';

export interface FaultBehaviorOptions extends FaultOptions {
  /** Runs before the work (restart a connection, fill a cache, burn CPU); a throw fails the call. */
  readonly run: (ctx: FaultContext) => void | Promise<void>;
}

/**
 * Runs a behaviour before the work, then the work itself.
 * @example faultBehavior({ run: () => pool.end(), rate: 0.01 })
 */
export function faultBehavior(options: FaultBehaviorOptions): FaultBehaviorPolicy {
  return new FaultBehaviorPolicy(options);
}

export class FaultBehaviorPolicy extends FaultPolicy {
  readonly #run: (ctx: FaultContext) => void | Promise<void>;
  constructor(options: FaultBehaviorOptions) {
    super('behavior', options);
    this.#run = options.run;
  }

  protected async _inject<C extends FaultCall>(
    call: C,
    next: FaultNext<C>,
    ctx: FaultContext,
  ): Promise<unknown> {
    this._publish(ctx, 'behavior', {});
    await this.#run(ctx);
    return next(call);
  }
}
