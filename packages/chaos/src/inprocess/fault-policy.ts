import { channel } from 'node:diagnostics_channel';

const BRAND = Symbol.for('faultline.error');

/**
 * What fault generators and the work receive: the same shape as @faultline/resilience's
 * `ExecuteContext`, so one function serves both.
 */
export interface FaultContext {
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
}

/**
 * The part of a resilience pipeline's call a fault stage reads: `call.scope` is the scope the rest of
 * the pipeline runs in. Declared here by shape so that this package imports nothing of ours.
 */
export interface FaultCall {
  readonly scope: FaultContext & { readonly aborted: boolean };
}

/** The rest of a pipeline, as seen by a fault stage. */
export type FaultNext<C extends FaultCall = FaultCall> = (call: C) => Promise<unknown>;

/**
 * A Middleware stage of @faultline/resilience (`{ stage: 'middleware', run(call, next) }`), by shape.
 * Generic in the call so that it matches a pipeline's own call type.
 */
export interface FaultStage {
  readonly stage: 'middleware';
  run<C extends FaultCall>(call: C, next: FaultNext<C>): Promise<unknown>;
}

/** Timers used by latency injection; @faultline/resilience's `Clock` (and `ManualClock`) fit. */
export interface FaultTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers, looked up at call time so that test runners' fake timers apply. */
export const globalTimers: FaultTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Options shared by every fault policy (Polly's chaos strategy options are the model). */
export interface FaultOptions {
  /** Share of calls to inject into, in [0, 1]: 0 never, 1 always. */
  readonly rate: number;
  /**
   * Whether the policy injects at all (default true). A function is asked on each call (only while
   * the policy is switched on with `enable()`), e.g. `() => process.env.CHAOS === '1'`.
   */
  readonly enabled?: boolean | ((ctx: FaultContext) => boolean);
  /** Random source in [0, 1) deciding each injection (default Math.random). */
  readonly random?: () => number;
  /** Name used in diagnostics events. */
  readonly name?: string;
}

/**
 * Published on each injection, only when someone subscribes:
 * `{ fault, name, attempt, delayMs?, error?, value? }`.
 * @example diagnostics_channel.subscribe('faultline:chaos:fault', (m) => log.info(m, 'fault injected'));
 */
export const faultChannel = channel('faultline:chaos:fault');

/** A FaultlineError-compatible error (same registry brand as @faultline/resilience's `isFaultlineError`). */
export class ChaosFaultError extends Error {
  readonly code: string;
  readonly policy: string | undefined;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(
    code: string,
    message: string,
    options: {
      policy?: string;
      retryable?: boolean;
      cause?: unknown;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FaultlineError';
    this.code = code;
    this.policy = options.policy;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
  get [BRAND](): true {
    return true;
  }
}

function isBranded(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true;
}

/** The reason itself when a policy aborted (a timeout's error), else FL_ABORTED, as resilience does. */
export function abortedError(reason: unknown, policy: string): Error {
  if (isBranded(reason)) return reason as Error;
  const why = reason instanceof Error ? reason.message : String(reason);
  return new ChaosFaultError('FL_ABORTED', `aborted by the caller: ${why}`, { cause: reason, policy });
}

export function invalidFaultOption(policy: string, option: string, problem: string): never {
  throw new ChaosFaultError('FL_INVALID_OPTION', `${policy}: option "${option}" ${problem}`, {
    policy,
    details: { option },
  });
}

/** The standalone call of `execute`: its scope is the caller's signal, read lazily. */
class StandaloneScope implements FaultContext {
  _external: AbortSignal | undefined;
  _own: AbortSignal | undefined = undefined;
  constructor(signal: AbortSignal | undefined) {
    this._external = signal;
  }
  get signal(): AbortSignal {
    if (this._external !== undefined) return this._external;
    this._own ??= new AbortController().signal;
    return this._own;
  }
  get aborted(): boolean {
    return this._external?.aborted === true;
  }
  get attempt(): number {
    return 1;
  }
}

class StandaloneCall implements FaultCall {
  readonly scope: StandaloneScope;
  readonly fn: (ctx: FaultContext) => unknown;
  constructor(fn: (ctx: FaultContext) => unknown, signal: AbortSignal | undefined) {
    this.fn = fn;
    this.scope = new StandaloneScope(signal);
  }
}

function invokeWork(call: FaultCall): Promise<unknown> {
  const c = call as StandaloneCall;
  const scope = c.scope;
  if (scope.aborted) return Promise.reject(abortedError(scope.signal.reason, 'chaos'));
  try {
    const r = c.fn(scope);
    return r instanceof Promise ? r : Promise.resolve(r);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Base of the in-process fault policies. Each is one Middleware stage, so `wrap(retry(), fault)`
 * of @faultline/resilience runs it inside the retry, and it also runs work on its own with `execute`.
 */
export abstract class FaultPolicy<R = never> implements FaultStage {
  readonly stage = 'middleware' as const;
  readonly _stages: readonly FaultStage[];
  declare readonly _substitute?: R;
  readonly rate: number;
  readonly name: string | undefined;
  protected readonly _label: string;
  protected _on: boolean;
  protected readonly _enabledFn: ((ctx: FaultContext) => boolean) | undefined;
  protected readonly _random: () => number;

  constructor(kind: string, options: FaultOptions) {
    this._label = options.name === undefined ? `fault-${kind}` : `fault-${kind}:${options.name}`;
    const rate = options?.rate;
    if (typeof rate !== 'number' || Number.isNaN(rate) || rate < 0 || rate > 1) {
      invalidFaultOption(this._label, 'rate', `must be a number in [0, 1], got ${String(rate)}`);
    }
    this.rate = rate;
    this.name = options.name;
    const en = options.enabled ?? true;
    this._on = typeof en === 'function' ? true : en;
    this._enabledFn = typeof en === 'function' ? en : undefined;
    this._random = options.random ?? Math.random;
    this._stages = [this];
  }

  /** Switches injection on (a function `enabled` is then asked on each call). */
  enable(): void {
    this._on = true;
  }

  /** Switches injection off: calls pass straight through. */
  disable(): void {
    this._on = false;
  }

  /** Whether the policy is switched on (a function `enabled` may still decline a call). */
  get enabled(): boolean {
    return this._on;
  }

  /** Decides whether this call gets the fault. */
  protected _shouldInject(ctx: FaultContext): boolean {
    if (!this._on) return false;
    if (this._enabledFn !== undefined && !this._enabledFn(ctx)) return false;
    const rate = this.rate;
    if (rate >= 1) return true;
    return rate > 0 && this._random() < rate;
  }

  /** Injects the fault; called only when {@link _shouldInject} said yes. May throw. */
  protected abstract _inject<C extends FaultCall>(
    call: C,
    next: FaultNext<C>,
    ctx: FaultContext,
  ): Promise<unknown>;

  /** The Middleware stage entry point: never throws synchronously. */
  run<C extends FaultCall>(call: C, next: FaultNext<C>): Promise<unknown> {
    try {
      const ctx = call.scope;
      if (!this._shouldInject(ctx)) return next(call);
      return this._inject(call, next, ctx);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs `fn` under this fault alone.
   * @example await faultLatency({ ms: 200, rate: 0.1 }).execute(({ signal }) => fetch(url, { signal }));
   */
  execute<T>(
    fn: (ctx: FaultContext) => T | PromiseLike<T>,
    options?: { readonly signal?: AbortSignal | undefined } | AbortSignal,
  ): Promise<T | R> {
    const signal = options instanceof AbortSignal ? options : options?.signal;
    return this.run<FaultCall>(new StandaloneCall(fn, signal), invokeWork) as Promise<T | R>;
  }

  /** Publishes an injection event when someone listens. */
  protected _publish(ctx: FaultContext, fault: string, extra: Record<string, unknown>): void {
    if (faultChannel.hasSubscribers) {
      faultChannel.publish({ fault, name: this.name, policy: this._label, attempt: ctx.attempt, ...extra });
    }
  }
}
