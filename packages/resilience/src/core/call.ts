import type { Clock } from './clock.js';
import { Scope } from './scope.js';

/** Per-call options of `execute`. */
export interface ExecuteOptions {
  /** The caller's cancellation: aborting it aborts the work and every wait of every policy. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Whether the work may run more than once (default true). Retry and hedging never repeat work
   * marked `false` unless their `nonIdempotent` option allows it.
   */
  readonly idempotent?: boolean | undefined;
}

const NOT_IDEMPOTENT: ExecuteOptions = Object.freeze({ idempotent: false });

/**
 * One execution through a pipeline, and the root cancellation scope of its work. Everything a
 * policy remembers about a call lives here or in the token its gate returned, so that a call costs
 * one object on the success path.
 * @internal
 */
export class Call extends Scope {
  /** the work; typed loosely here, the public `execute` keeps the types */
  readonly fn: (ctx: Scope) => unknown;
  readonly idempotent: boolean;
  /** the scope the next gate or the work runs in */
  scope: Scope;
  /** outcome scratch, set before gates exit */
  ok = true;
  value: unknown = undefined;
  error: unknown = undefined;
  /** @internal */ _onExternalAbort: (() => void) | undefined = undefined;
  /** @internal */ _clock: Clock | undefined = undefined;
  /** @internal */ _time = 0;

  /** The caller's signal, if any. */
  get external(): AbortSignal | undefined {
    return this._external;
  }

  constructor(fn: (ctx: Scope) => unknown, options: ExecuteOptions | AbortSignal | undefined) {
    super(null);
    this.fn = fn;
    this.scope = this;
    if (options === undefined) {
      this.idempotent = true;
    } else if (options instanceof AbortSignal) {
      this._external = options;
      this.idempotent = true;
    } else {
      this._external = options.signal;
      this.idempotent = options.idempotent ?? true;
    }
  }

  override get signal(): AbortSignal {
    if (this._external !== undefined) return this._external;
    return super.signal;
  }

  override _link(child: Scope): void {
    const ext = this._external;
    if (ext !== undefined && this._onExternalAbort === undefined) {
      const onAbort = () => this.abort(ext.reason);
      this._onExternalAbort = onAbort;
      ext.addEventListener('abort', onAbort, { once: true });
    }
    super._link(child);
  }

  /**
   * `clock.now()`, read at most once per synchronous stretch of gate entries: policies entering
   * the same attempt share one clock read. The runner calls {@link Call.tick} when time may have
   * moved.
   */
  now(clock: Clock): number {
    if (this._clock === clock) return this._time;
    this._clock = clock;
    this._time = clock.now();
    return this._time;
  }

  /** Forgets the shared clock reading. */
  tick(): void {
    this._clock = undefined;
  }

  /**
   * A call of its own for one of several concurrent attempts (hedging): same work and options,
   * its own outcome and scope state, cancelled with `parent` (and so with the caller) and on its
   * own when aborted directly — a loser's abort never reaches the caller's signal.
   */
  fork(parent: Scope): Call {
    const c = new Call(this.fn, this.idempotent ? undefined : NOT_IDEMPOTENT);
    c._parent = parent;
    c._attempt = parent._attempt;
    return c;
  }

  /** Releases the listener on the caller's signal, if one was added. */
  finish(): void {
    const onAbort = this._onExternalAbort;
    if (onAbort !== undefined) {
      this._onExternalAbort = undefined;
      this._external?.removeEventListener('abort', onAbort);
    }
  }
}
