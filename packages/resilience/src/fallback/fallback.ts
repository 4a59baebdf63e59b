import type { Call } from '../core/call.js';
import { type Clock, systemClock } from '../core/clock.js';
import { checkNumber, invalidOption, isFaultlineError, ResilienceErrorCode } from '../core/errors.js';
import { channels, publish } from '../core/events.js';
import { PolicyBase } from '../core/pipeline.js';
import type { ExecuteContext, Scope } from '../core/scope.js';
import type { Middleware, Next, Stage } from '../core/stage.js';

/** Options every form of fallback takes. */
export interface FallbackOptions {
  /**
   * Which errors the fallback replaces (default: every error except FL_ABORTED). A call whose
   * caller aborted is never replaced, whatever this says.
   */
  readonly handles?: (error: unknown) => boolean;
  readonly name?: string;
  readonly clock?: Clock;
}

/** `fallback({ fn })`: compute a substitute from the error. */
export interface FallbackFnOptions<R> extends FallbackOptions {
  /** Called with the error and the call's context (its signal is the caller's cancellation). */
  readonly fn: (error: unknown, ctx: ExecuteContext) => R | PromiseLike<R>;
  /** Serve the last successful result first, when there is a fresh one (default false). */
  readonly lastGood?: boolean;
  /** How long a last good result stays servable (default: forever). */
  readonly ttlMs?: number;
}

/** `fallback({ lastGood: true })`: serve the last successful result, else rethrow. */
export interface FallbackLastGoodOptions extends FallbackOptions {
  readonly lastGood: true;
  /** How long a last good result stays servable (default: forever). */
  readonly ttlMs?: number;
  readonly fn?: undefined;
}

/**
 * Replaces a failure with a substitute: a fixed value, a value computed from the error, or the
 * last successful result. The policy's type says what it may return instead of the work's result,
 * so `wrap(fallback('n/a'), retry()).execute(() => 1)` is a `Promise<number | string>`.
 * @example const f = fallback({ fn: (err) => cached.get(key) ?? defaults }); await f.execute(loadPrices);
 */
export function fallback<R>(options: FallbackFnOptions<R>): FallbackPolicy<R>;
export function fallback(options: FallbackLastGoodOptions): FallbackPolicy<never>;
/**
 * A fixed substitute. A value that itself has an `fn` function or a `lastGood` property would be
 * read as options: pass it as `fallback({ fn: () => value })`.
 * @example const f = fallback([] as Item[]); await f.execute(loadItems);
 */
export function fallback<R>(value: NotOptions<R>, options?: FallbackOptions): FallbackPolicy<R>;
export function fallback(valueOrOptions: unknown, options?: FallbackOptions): FallbackPolicy<unknown> {
  if (isOptions(valueOrOptions)) {
    if (options !== undefined)
      invalidOption('fallback', 'options', 'must be given once, in the first argument');
    return new FallbackPolicy(valueOrOptions, false, undefined);
  }
  return new FallbackPolicy(options ?? {}, true, valueOrOptions);
}

/** A fixed fallback value: anything that would not be read as options. */
export type NotOptions<R> = R extends
  | { readonly fn: (...args: never[]) => unknown }
  | { readonly lastGood: unknown }
  ? never
  : R;

function isOptions(v: unknown): v is FallbackFnOptions<unknown> | FallbackLastGoodOptions {
  if (typeof v !== 'object' || v === null) return false;
  return typeof (v as { fn?: unknown }).fn === 'function' || 'lastGood' in v;
}

/** The default `handles`: everything except an abort (the caller's own FL_ABORTED). */
function notAborted(error: unknown): boolean {
  return !(isFaultlineError(error) && error.code === ResilienceErrorCode.Aborted);
}

export class FallbackPolicy<R> extends PolicyBase<R> implements Middleware {
  readonly stage = 'middleware' as const;
  readonly _stages: readonly Stage[] = [this];
  readonly name: string | undefined;
  readonly clock: Clock;
  readonly #handles: (error: unknown) => boolean;
  readonly #fn: ((error: unknown, ctx: ExecuteContext) => unknown) | undefined;
  readonly #hasValue: boolean;
  readonly #value: unknown;
  readonly #lastGood: boolean;
  readonly #ttl: number;
  #hasLast = false;
  #last: unknown = undefined;
  #lastAt = 0;

  /** @internal use {@link fallback} */
  constructor(
    options: FallbackOptions & { fn?: unknown; lastGood?: unknown; ttlMs?: unknown },
    hasValue: boolean,
    value: unknown,
  ) {
    super();
    if (options.handles !== undefined && typeof options.handles !== 'function') {
      invalidOption('fallback', 'handles', 'must be a function');
    }
    this.#handles = options.handles ?? notAborted;
    this.#fn =
      typeof options.fn === 'function'
        ? (options.fn as (error: unknown, ctx: ExecuteContext) => unknown)
        : undefined;
    if (options.fn !== undefined && this.#fn === undefined)
      invalidOption('fallback', 'fn', 'must be a function');
    this.#hasValue = hasValue;
    this.#value = value;
    this.#lastGood = options.lastGood === true;
    if (!hasValue && this.#fn === undefined && !this.#lastGood) {
      invalidOption('fallback', 'lastGood', 'must be true when no fn is given');
    }
    this.#ttl =
      options.ttlMs === undefined
        ? Number.POSITIVE_INFINITY
        : checkNumber('fallback', 'ttlMs', options.ttlMs as number, 0);
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
  }

  /** @internal */
  run(call: Call, next: Next): Promise<unknown> {
    const scope = call.scope;
    const p = next(call);
    if (!this.#lastGood) return p.then(undefined, (e: unknown) => this.#recover(call, scope, e));
    return p.then(
      (v) => {
        this.#remember(v);
        return v;
      },
      (e: unknown) => this.#recover(call, scope, e),
    );
  }

  /** Forgets the last good result. */
  reset(): void {
    this.#hasLast = false;
    this.#last = undefined;
  }

  #remember(v: unknown): void {
    this.#hasLast = true;
    this.#last = v;
    if (this.#ttl !== Number.POSITIVE_INFINITY) this.#lastAt = this.clock.now();
  }

  #recover(call: Call, scope: Scope, error: unknown): unknown {
    call.scope = scope;
    // the caller gave up: nobody wants a substitute
    if (scope.aborted || !this.#handles(error)) throw error;
    if (
      this.#hasLast &&
      (this.#ttl === Number.POSITIVE_INFINITY || this.clock.now() - this.#lastAt <= this.#ttl)
    ) {
      this.#publish(error, 'last-good');
      return this.#last;
    }
    if (this.#fn !== undefined) {
      this.#publish(error, 'fn');
      return this.#fn(error, scope);
    }
    if (this.#hasValue) {
      this.#publish(error, 'value');
      return this.#value;
    }
    throw error;
  }

  #publish(error: unknown, source: 'last-good' | 'fn' | 'value'): void {
    publish(channels.fallback, () => ({ policy: 'fallback', name: this.name, error, source }));
  }
}
