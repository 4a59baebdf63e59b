import { type FaultCall, type FaultContext, type FaultOptions, FaultPolicy } from './fault-policy.js';

export type FaultResultOptions<V> = FaultOptions &
  (
    | { /** The result to return instead of running the work. */ readonly value: V }
    | {
        /** Makes the result per call (may be async). */ readonly fn: (
          ctx: FaultContext,
        ) => V | PromiseLike<V>;
      }
  );

/**
 * Returns a chosen result instead of running the work (a 503 response, an empty list, stale data).
 * The result's type joins the pipeline's result type, as a fallback's does.
 * @example const p = wrap(retry({ retryOnResult: (r: Response) => r.status >= 500 }), faultResult({ value: new Response(null, { status: 503 }), rate: 0.5 }));
 */
export function faultResult<V>(options: FaultResultOptions<V>): FaultResultPolicy<V> {
  return new FaultResultPolicy<V>(options);
}

export class FaultResultPolicy<V> extends FaultPolicy<V> {
  readonly #make: (ctx: FaultContext) => V | PromiseLike<V>;
  constructor(options: FaultResultOptions<V>) {
    super('result', options);
    if ('fn' in options) {
      this.#make = options.fn;
    } else {
      const v = options.value;
      this.#make = () => v;
    }
  }

  protected async _inject(_call: FaultCall, _next: unknown, ctx: FaultContext): Promise<unknown> {
    const value = await this.#make(ctx);
    this._publish(ctx, 'result', { value });
    return value;
  }
}
