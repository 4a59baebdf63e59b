import { abortedError } from './aborted.js';
import { Call, type ExecuteOptions } from './call.js';
import type { ExecuteContext } from './scope.js';
import {
  type Gate,
  type LiteObservers,
  type Next,
  type RetryStage,
  type RetryState,
  type Stage,
  WAIT,
} from './stage.js';

/** The work a policy runs: it receives the signal to honour and the attempt number. */
export type Work<T> = (ctx: ExecuteContext) => T | PromiseLike<T>;

/**
 * Anything that runs work under a policy. `R` is what the policy may return instead of the work's
 * result (a fallback's value); most policies keep the work's type (`R = never`).
 */
export interface Policy<R = never> {
  /** @example await policy.execute(({ signal }) => fetch(url, { signal }), { signal: req.signal }) */
  execute<T>(fn: Work<T>, options?: ExecuteOptions | AbortSignal): Promise<T | R>;
  /** @internal the stages this policy contributes to a pipeline */
  readonly _stages: readonly Stage[];
  /** @internal type-level only: what the policy may return instead of the work's result */
  readonly _substitute?: R;
}

/** Base of every policy: compiles its stages once and runs calls through them. @internal */
export abstract class PolicyBase<R = never> implements Policy<R> {
  abstract readonly _stages: readonly Stage[];
  declare readonly _substitute?: R;
  #run: Next | undefined;
  #lite: Gate | undefined;

  execute<T>(fn: Work<T>, options?: ExecuteOptions | AbortSignal): Promise<T | R> {
    let run = this.#run;
    if (run === undefined) {
      run = compile(this._stages);
      this.#run = run;
      const only = this._stages.length === 1 ? this._stages[0] : undefined;
      if (only?.stage === 'gate' && only.observeOnly && only.admitLite !== undefined) this.#lite = only;
    }
    const lite = this.#lite;
    if (lite !== undefined && options === undefined) {
      const observers = (lite.admitLite as () => LiteObservers | undefined)();
      if (observers !== undefined) return runLite(fn, observers) as Promise<T | R>;
    }
    return run(new Call(fn as (ctx: ExecuteContext) => unknown, options)) as Promise<T | R>;
  }
}

/**
 * The context of a call on the lite path. Nothing can abort such a call (no caller signal,
 * observe-only gates), so its signal is a plain one, created only if the work reads it.
 */
class LiteContext implements ExecuteContext {
  _signal: AbortSignal | undefined = undefined;
  get signal(): AbortSignal {
    this._signal ??= new AbortController().signal;
    return this._signal;
  }
  get attempt(): number {
    return 1;
  }
}

/** Runs work admitted by a lone observe-only gate: the work's own promise, observed beside. */
function runLite(fn: Work<unknown>, observers: LiteObservers): Promise<unknown> {
  let p: Promise<unknown>;
  try {
    const r = fn(new LiteContext());
    p = r instanceof Promise ? r : Promise.resolve(r);
  } catch (e) {
    p = Promise.reject(e);
  }
  p.then(observers.ok, observers.err);
  return p;
}

/** What a policy may substitute for the work's result (`never` for most policies). */
export type SubstituteOf<P> = P extends { readonly _substitute?: infer R } ? R : never;

/** Union of what the policies may substitute for the work's result. */
type Substitutes<P extends readonly Policy<unknown>[]> = { [K in keyof P]: SubstituteOf<P[K]> }[number];

/** A composed policy, outermost first. */
export class Pipeline<R = never> extends PolicyBase<R> {
  readonly _stages: readonly Stage[];
  constructor(stages: readonly Stage[]) {
    super();
    this._stages = stages;
  }
}

/**
 * Composes policies, the first one outermost.
 * @example const policy = wrap(retry({ maxRetries: 2 }), circuitBreaker(), timeout(1000));
 */
export function wrap<P extends readonly Policy<unknown>[]>(...policies: P): Pipeline<Substitutes<P>> {
  const stages: Stage[] = [];
  for (const p of policies) stages.push(...p._stages);
  return new Pipeline<Substitutes<P>>(stages);
}

/** Builds the runner of a stage list: adjacent gates (and one retry among them) are fused. @internal */
export function compile(stages: readonly Stage[]): Next {
  let next: Next = invokeWork;
  let i = stages.length - 1;
  while (i >= 0) {
    const s = stages[i] as Stage;
    if (s.stage === 'middleware') {
      const inner = next;
      next = (call) => s.run(call, inner);
      i--;
      continue;
    }
    const innerGates: Gate[] = [];
    while (i >= 0 && (stages[i] as Stage).stage === 'gate') innerGates.unshift(stages[i--] as Gate);
    if (i >= 0 && (stages[i] as Stage).stage === 'retry') {
      const retry = stages[i--] as RetryStage;
      const outerGates: Gate[] = [];
      while (i >= 0 && (stages[i] as Stage).stage === 'gate') outerGates.unshift(stages[i--] as Gate);
      next = segment(outerGates, retry, innerGates, next);
    } else {
      next = segment(innerGates, null, [], next);
    }
  }
  const head = next;
  return (call) => {
    const p = head(call);
    if (call._external === undefined) return p;
    // the caller's signal may have gained a listener: release it when the call settles
    return p.then(
      (v) => {
        call.finish();
        return v;
      },
      (e) => {
        call.finish();
        throw e;
      },
    );
  };
}

/** Runs the work itself in the current scope; never throws synchronously. */
function invokeWork(call: Call): Promise<unknown> {
  const scope = call.scope;
  if (scope.aborted) return Promise.reject(abortedError(scope.abortReason().reason));
  try {
    const r = call.fn(scope);
    return r instanceof Promise ? r : Promise.resolve(r);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Tokens of a gate list: nothing for no gate, the token itself for one gate (the common case,
 * with no array), an array for more.
 */
type Tokens = unknown;

/** Enters `gates` in order; on a rejection, exits the ones already entered and rethrows. */
function enterGates(gates: readonly Gate[], call: Call): Tokens | Promise<Tokens> {
  const n = gates.length;
  if (n === 0) return undefined;
  if (n === 1) {
    const t = (gates[0] as Gate).enter(call);
    return t === WAIT ? enterRest(gates, call, [], 0) : t;
  }
  const tokens = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    let t: unknown;
    try {
      t = (gates[i] as Gate).enter(call);
    } catch (e) {
      failEntered(gates, call, tokens, i, e);
      throw e;
    }
    if (t === WAIT) return enterRest(gates, call, tokens, i);
    tokens[i] = t;
  }
  return tokens;
}

async function enterRest(
  gates: readonly Gate[],
  call: Call,
  tokens: unknown[],
  from: number,
): Promise<Tokens> {
  for (let i = from; i < gates.length; i++) {
    const g = gates[i] as Gate;
    try {
      let t = i === from ? WAIT : g.enter(call);
      if (t === WAIT) {
        if (g.wait === undefined) throw new TypeError('gate returned WAIT without wait()');
        t = await g.wait(call);
        call.tick();
      }
      tokens[i] = t;
    } catch (e) {
      failEntered(gates, call, tokens, i, e);
      throw e;
    }
  }
  return gates.length === 1 ? tokens[0] : tokens;
}

function failEntered(
  gates: readonly Gate[],
  call: Call,
  tokens: unknown[],
  entered: number,
  e: unknown,
): void {
  call.ok = false;
  call.error = e;
  call.value = undefined;
  for (let i = entered - 1; i >= 0; i--) (gates[i] as Gate).exit(call, tokens[i]);
}

/** Exits every gate in reverse order. */
function exitGates(gates: readonly Gate[], call: Call, tokens: Tokens): void {
  const n = gates.length;
  if (n === 1) {
    (gates[0] as Gate).exit(call, tokens);
    return;
  }
  const arr = tokens as unknown[];
  for (let i = n - 1; i >= 0; i--) (gates[i] as Gate).exit(call, arr[i]);
}

function settleOutcome(call: Call): unknown {
  if (call.ok) return call.value;
  throw call.error;
}

function segment(outer: readonly Gate[], retry: RetryStage | null, inner: readonly Gate[], next: Next): Next {
  const nOuter = outer.length;
  const nInner = inner.length;
  const aside = retry === null && nInner === 0 && outer.every((g) => g.observeOnly);

  if (aside) {
    // Observers only: hand back the work's own promise and record the outcome beside it.
    const afterEnter = (call: Call, tokens: Tokens): Promise<unknown> => {
      const p = next(call);
      if (nOuter > 0) {
        p.then(
          (v) => {
            call.ok = true;
            call.value = v;
            exitGates(outer, call, tokens);
          },
          (e) => {
            call.ok = false;
            call.error = e;
            exitGates(outer, call, tokens);
          },
        );
      }
      return p;
    };
    return (call) => {
      let tokens: Tokens | Promise<Tokens>;
      try {
        tokens = enterGates(outer, call);
      } catch (e) {
        return Promise.reject(e);
      }
      if (tokens instanceof Promise) return tokens.then((t) => afterEnter(call, t));
      return afterEnter(call, tokens);
    };
  }

  const finish = (call: Call, outerTokens: Tokens): unknown => {
    if (nOuter > 0) exitGates(outer, call, outerTokens);
    return settleOutcome(call);
  };

  const afterAttempt = (call: Call, outerTokens: Tokens, state: RetryState | undefined): unknown => {
    if (retry !== null && (!call.ok || retry.checksResults)) {
      const st = retry.decide(call, state);
      if (st !== undefined && st.delay >= 0) {
        const again = () => attempt(call, outerTokens, st);
        if (st.delay === 0) return again();
        return retry.sleep(call, st.delay).then(again, (e) => {
          call.ok = false;
          call.error = e;
          return finish(call, outerTokens);
        });
      }
    }
    return finish(call, outerTokens);
  };

  const runInner = (call: Call, outerTokens: Tokens, innerTokens: Tokens, state: RetryState | undefined) =>
    next(call).then(
      (v) => {
        call.ok = true;
        call.value = v;
        call.error = undefined;
        if (nInner > 0) exitGates(inner, call, innerTokens);
        return afterAttempt(call, outerTokens, state);
      },
      (e) => {
        call.ok = false;
        call.error = e;
        call.value = undefined;
        if (nInner > 0) exitGates(inner, call, innerTokens);
        return afterAttempt(call, outerTokens, state);
      },
    );

  const attempt = (call: Call, outerTokens: Tokens, state: RetryState | undefined): Promise<unknown> => {
    if (state !== undefined) {
      call.scope._attempt = state.attempt;
      call.tick();
    }
    if (nInner === 0) return runInner(call, outerTokens, undefined, state);
    let innerTokens: Tokens | Promise<Tokens>;
    try {
      innerTokens = enterGates(inner, call);
    } catch (e) {
      // a rejection by an inner gate is an attempt outcome like any other
      call.ok = false;
      call.error = e;
      call.value = undefined;
      try {
        return Promise.resolve(afterAttempt(call, outerTokens, state));
      } catch (e2) {
        return Promise.reject(e2);
      }
    }
    if (innerTokens instanceof Promise) {
      return innerTokens.then(
        (t) => runInner(call, outerTokens, t, state),
        (e) => {
          call.ok = false;
          call.error = e;
          return afterAttempt(call, outerTokens, state);
        },
      );
    }
    return runInner(call, outerTokens, innerTokens, state);
  };

  return (call) => {
    let tokens: Tokens | Promise<Tokens>;
    try {
      tokens = enterGates(outer, call);
    } catch (e) {
      return Promise.reject(e);
    }
    if (tokens instanceof Promise) {
      return tokens.then((t) => {
        retry?.begin(call);
        return attempt(call, t, undefined);
      });
    }
    retry?.begin(call);
    return attempt(call, tokens, undefined);
  };
}
