import { abortedError } from '../core/aborted.js';
import { type Clock, systemClock } from '../core/clock.js';
import { checkNumber, FaultlineError, ResilienceErrorCode } from '../core/errors.js';
import { channels, publish } from '../core/events.js';
import { currentDeadline, deadlineExceeded } from '../deadline/deadline.js';

/** What the guard needs of a pooled client (`pg`'s `PoolClient` fits). */
export interface PoolClientLike {
  query(text: string, values?: unknown[]): Promise<unknown>;
  release(err?: Error | boolean): void;
  /** pg's clients are EventEmitters: a checked-out client whose connection drops emits `error`. */
  on?(event: 'error', listener: (err: Error) => void): unknown;
  removeListener?(event: 'error', listener: (err: Error) => void): unknown;
}

// The query's own rejection reports the failure; the event must not crash the process (pg-pool
// removes its idle listener while a client is checked out, so nobody else listens then).
const ignoreClientError = (): void => {};

/** What the guard needs of a pool (`pg`'s `Pool` fits). */
export interface PoolLike<C extends PoolClientLike> {
  connect(): Promise<C>;
  /** pg's callback form; declared so that the client type is inferred from the promise form */
  connect(callback: never): void;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { readonly max?: number | undefined };
}

/** The pool's state, with the names the logs use. */
export interface PoolState {
  /** connections checked out */
  readonly pool_active: number;
  readonly pool_idle: number;
  /** callers queued inside the pool for a connection */
  readonly pool_waiting: number;
  readonly pool_max: number | undefined;
}

export interface PoolGuardOptions {
  /** Longest wait for a connection (a shorter deadline wins). */
  readonly acquireTimeoutMs: number;
  /** Pool name in errors, events and details (e.g. `orders-db`). */
  readonly name?: string;
  readonly clock?: Clock;
}

export interface PoolGuard<C extends PoolClientLike> {
  /**
   * A client from the pool within `acquireTimeoutMs`, or FL_POOL_ACQUIRE_TIMEOUT carrying the pool
   * state; FL_ABORTED when `signal` aborts first. Release the client as usual.
   */
  acquire(signal?: AbortSignal): Promise<C>;
  /** Acquires a client, runs one query and releases it (destroying it if the query failed, as pg's `pool.query` does). */
  query<R = unknown>(text: string, values?: unknown[], signal?: AbortSignal): Promise<R>;
  /** The pool's state now. */
  state(): PoolState;
  /** Connections that arrived after their caller gave up and were handed straight back. */
  readonly lateReleases: number;
}

/**
 * Bounds how long a caller waits for a database connection. pg's `connect()` cannot be cancelled:
 * when the guard gives up, the caller is released at once and a connection that arrives later is
 * handed straight back to the pool. The error says why there was none: active, idle, waiting, max.
 * @example const db = guardPool(pool, { acquireTimeoutMs: 1000, name: 'orders' }); await db.query('select 1');
 */
export function guardPool<C extends PoolClientLike>(
  pool: PoolLike<C>,
  options: PoolGuardOptions,
): PoolGuard<C> {
  return new Guard(pool, options);
}

class Guard<C extends PoolClientLike> implements PoolGuard<C> {
  readonly #pool: PoolLike<C>;
  readonly #limit: number;
  readonly #name: string | undefined;
  readonly #label: string;
  readonly #clock: Clock;
  #late = 0;

  constructor(pool: PoolLike<C>, options: PoolGuardOptions) {
    this.#pool = pool;
    this.#limit = checkNumber(
      'pg-pool-guard',
      'acquireTimeoutMs',
      options.acquireTimeoutMs,
      0,
      2_147_483_647,
    );
    this.#name = options.name;
    this.#label = options.name === undefined ? 'pg-pool-guard' : `pg-pool-guard:${options.name}`;
    this.#clock = options.clock ?? systemClock;
  }

  get lateReleases(): number {
    return this.#late;
  }

  state(): PoolState {
    const p = this.#pool;
    return {
      pool_active: p.totalCount - p.idleCount,
      pool_idle: p.idleCount,
      pool_waiting: p.waitingCount,
      pool_max: p.options.max,
    };
  }

  acquire(signal?: AbortSignal): Promise<C> {
    if (signal?.aborted) return Promise.reject(abortedError(signal.reason, this.#label));
    let limit = this.#limit;
    const d = currentDeadline();
    if (d !== undefined) {
      const left = d.at - d.clock.now();
      if (left <= 0) return Promise.reject(deadlineExceeded(this.#label, 'not waiting for a connection'));
      limit = Math.min(limit, left);
    }
    const clock = this.#clock;
    const started = clock.now();
    return new Promise<C>((resolve, reject) => {
      let waiting = true;
      const stop = () => {
        waiting = false;
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const timer = clock.setTimeout(() => {
        if (!waiting) return;
        stop();
        reject(this.#timeoutError(limit, clock.now() - started));
      }, limit);
      const onAbort = () => {
        if (!waiting) return;
        stop();
        reject(abortedError(signal?.reason, this.#label));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let connecting: Promise<C>;
      try {
        connecting = this.#pool.connect();
      } catch (e) {
        stop();
        reject(e);
        return;
      }
      connecting.then(
        (client) => {
          if (waiting) {
            stop();
            resolve(client);
            return;
          }
          // The caller gave up: give the connection straight back to whoever waits next.
          this.#late++;
          client.release();
        },
        (e: unknown) => {
          if (!waiting) return;
          stop();
          reject(e);
        },
      );
    });
  }

  async query<R = unknown>(text: string, values?: unknown[], signal?: AbortSignal): Promise<R> {
    const client = await this.acquire(signal);
    client.on?.('error', ignoreClientError);
    let result: unknown;
    try {
      result = await client.query(text, values);
    } catch (e) {
      client.removeListener?.('error', ignoreClientError);
      client.release(e instanceof Error ? e : true);
      throw e;
    }
    client.removeListener?.('error', ignoreClientError);
    client.release();
    return result as R;
  }

  #timeoutError(limit: number, waited: number): FaultlineError {
    const state = this.state();
    const details = {
      ...state,
      waited_ms: Math.round(waited),
      acquire_timeout_ms: limit,
      ...(this.#name === undefined ? {} : { pool: this.#name }),
    };
    const err = new FaultlineError(
      ResilienceErrorCode.PoolAcquireTimeout,
      `${this.#label}: no connection within ${Math.round(limit)}ms (waited ${details.waited_ms}ms; ` +
        `pool_active=${state.pool_active} pool_idle=${state.pool_idle} pool_waiting=${state.pool_waiting} ` +
        `pool_max=${state.pool_max ?? 'unknown'})`,
      { policy: this.#label, retryable: true, details },
    );
    publish(channels.reject, () => ({
      policy: 'pg-pool-guard',
      name: this.#name,
      code: err.code,
      reason: 'acquire-timeout',
      details,
    }));
    return err;
  }
}
