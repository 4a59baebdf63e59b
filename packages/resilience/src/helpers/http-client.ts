import { abortedError } from '../core/aborted.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import {
  checkInteger,
  checkNumber,
  FaultlineError,
  invalidOption,
  isFaultlineError,
  ResilienceErrorCode,
} from '../core/errors.js';
import { type Pipeline, type Policy, wrap } from '../core/pipeline.js';
import type { ExecuteContext } from '../core/scope.js';
import {
  currentDeadline,
  DEADLINE_HEADER,
  deadlineHeaders,
  remainingTime,
  withDeadline,
} from '../deadline/deadline.js';
import { type Backoff, exponential } from '../retry/backoff.js';
import { retry } from '../retry/retry.js';
import { parseRetryAfter } from '../retry/retry-after.js';
import type { RetryBudget } from '../retry/retry-budget.js';
import { timeout } from '../timeout/timeout.js';
import { type SocketWatcher, watchSockets } from './socket-watch.js';

/** What the client needs of `fetch`: the global one (Node's undici) by default. */
export type FetchLike = (url: string | URL, init: RequestInit) => Promise<Response>;

export interface HttpRetryOptions {
  /** Retries after the first attempt (default 2). */
  readonly maxRetries?: number;
  /** Delay before each retry (default exponential from 100 ms up to 2 s, full jitter). */
  readonly backoff?: Backoff | number;
  /** A longer `Retry-After` stops retrying (default 30 s). */
  readonly maxRetryAfterMs?: number;
}

export interface HttpClientOptions {
  /**
   * Longest wait for the request to be on a connected socket (TCP and TLS, or a reused
   * connection). Measured through undici's diagnostics channels; with a `fetch` that does not
   * publish them, it is added to `readTimeoutMs` as a bound on the time to response headers.
   */
  readonly connectTimeoutMs?: number;
  /** Longest wait for the response headers once connected, and longest silence while reading the body. */
  readonly readTimeoutMs?: number;
  /**
   * Deadline of the whole request: connects, attempts, backoff and reading the body. The remaining
   * time is sent to the server in the deadline header. An enclosing `withDeadline` that ends
   * sooner wins.
   */
  readonly totalTimeoutMs?: number;
  /** Retry policy: a number of retries, options, or `false` for none (default 2 retries). */
  readonly retries?: number | HttpRetryOptions | false;
  /**
   * Statuses worth retrying (default 502, 503, 504, 429). Network errors and per-attempt timeouts
   * are retried too. When retries run out on one of these statuses the request fails with
   * FL_HTTP_STATUS; any other status is returned as is.
   */
  readonly retryOn?: readonly number[];
  /**
   * Retry POST, PATCH and other non-idempotent methods even without an `Idempotency-Key` header
   * (default false). Requests with a streamed body are never retried.
   */
  readonly retryNonIdempotent?: boolean;
  /** Policies applied to every attempt, e.g. a circuit breaker. A bad status counts as a failure. */
  readonly breaker?: Policy;
  /** Shared budget capping retries at a share of requests. */
  readonly budget?: RetryBudget;
  /** The header carrying the remaining deadline (default `x-faultline-deadline-ms`); `false` sends none. */
  readonly deadlineHeader?: string | false;
  readonly fetch?: FetchLike;
  readonly name?: string;
  readonly clock?: Clock;
  /** Random source for backoff jitter, in [0, 1). */
  readonly random?: () => number;
}

export interface HttpClient {
  /**
   * `fetch` with timeouts, retries and deadline propagation. Resolves with the response (its body
   * still guarded by the read timeout and the deadline), or rejects with FL_HTTP_STATUS, FL_TIMEOUT,
   * FL_DEADLINE_EXCEEDED, FL_ABORTED or fetch's own network error.
   */
  request(url: string | URL, init?: RequestInit): Promise<Response>;
}

const DEFAULT_STATUSES = [502, 503, 504, 429];
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** statuses whose response may not have a body (the Response constructor refuses one) */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** the longest delay a Node timer takes */
const MAX_TIMER_MS = 2_147_483_647;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * A `fetch` wrapper built on this library's policies: connect and read timeouts per attempt, an
 * overall deadline (propagated to the server), retries on network errors and 502/503/504/429 with
 * `Retry-After`, never retrying non-idempotent requests unless they carry an `Idempotency-Key`.
 * @example const http = createHttpClient({ readTimeoutMs: 2000, totalTimeoutMs: 5000 }); const res = await http.request(url);
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new ResilientHttpClient(options);
}

/**
 * True for the errors fetch reports when the network failed (refused, reset, DNS, TLS…), as
 * opposed to a bad URL or an abort.
 */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof TypeError && error.message === 'fetch failed') return true;
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

function retryable(error: unknown): boolean {
  return isFaultlineError(error) ? error.retryable : isNetworkError(error);
}

function retryAfterOfStatus(error: unknown): number | undefined {
  if (!isFaultlineError(error) || error.code !== ResilienceErrorCode.HttpStatus) return undefined;
  const ms = error.details?.retryAfterMs;
  return typeof ms === 'number' ? ms : undefined;
}

/** `origin + path` of a URL: no credentials or query string in errors and logs. */
function safeUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return u.origin + u.pathname;
  } catch {
    return String(url).replace(/[?#].*$/, '');
  }
}

function isReplayable(body: RequestInit['body']): boolean {
  if (body === undefined || body === null) return true;
  if (body instanceof ReadableStream) return false;
  return !(typeof body === 'object' && Symbol.asyncIterator in body);
}

class ResilientHttpClient implements HttpClient {
  readonly #label: string;
  readonly #connectMs: number | undefined;
  readonly #readMs: number | undefined;
  readonly #totalMs: number | undefined;
  readonly #statuses: ReadonlySet<number>;
  readonly #retryNonIdempotent: boolean;
  readonly #deadlineHeader: string | undefined;
  readonly #fetch: FetchLike;
  readonly #clock: Clock;
  /** for calls with no deadline */
  readonly #plain: Pipeline;
  /** for calls inside a deadline: every attempt is cut when it passes */
  readonly #bounded: Pipeline;

  constructor(options: HttpClientOptions) {
    const name = options.name ?? 'http-client';
    this.#label = options.name === undefined ? 'http-client' : `http-client:${options.name}`;
    const ms = (option: string, v: number | undefined) =>
      v === undefined ? undefined : checkNumber('http-client', option, v, 1, MAX_TIMER_MS);
    this.#connectMs = ms('connectTimeoutMs', options.connectTimeoutMs);
    this.#readMs = ms('readTimeoutMs', options.readTimeoutMs);
    this.#totalMs = ms('totalTimeoutMs', options.totalTimeoutMs);
    const statuses = options.retryOn ?? DEFAULT_STATUSES;
    for (const s of statuses) checkInteger('http-client', 'retryOn', s, 100, 599);
    this.#statuses = new Set(statuses);
    this.#retryNonIdempotent = options.retryNonIdempotent ?? false;
    const header = options.deadlineHeader ?? DEADLINE_HEADER;
    if (header !== false && (typeof header !== 'string' || header === '')) {
      invalidOption('http-client', 'deadlineHeader', 'must be a header name or false');
    }
    this.#deadlineHeader = header === false ? undefined : header;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function')
      invalidOption('http-client', 'fetch', 'must be a function (no global fetch here)');
    this.#fetch = f;
    this.#clock = options.clock ?? systemClock;

    const r = options.retries ?? {};
    const ro: HttpRetryOptions =
      r === false ? { maxRetries: 0 } : typeof r === 'number' ? { maxRetries: r } : r;
    const retryPolicy = retry({
      maxRetries: ro.maxRetries ?? 2,
      backoff: ro.backoff ?? exponential({ initial: 100, max: 2000 }),
      retryOn: retryable,
      retryAfter: retryAfterOfStatus,
      ...(ro.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: ro.maxRetryAfterMs }),
      ...(options.budget === undefined ? {} : { budget: options.budget }),
      ...(options.random === undefined ? {} : { random: options.random }),
      clock: this.#clock,
      name,
    });
    const perAttempt: Policy[] = options.breaker === undefined ? [] : [options.breaker];
    this.#plain = wrap(retryPolicy, ...perAttempt);
    // Inside a deadline the timeout takes the time left (its own `ms` is only an upper bound).
    const deadlineGate = timeout(this.#totalMs ?? MAX_TIMER_MS, { clock: this.#clock, name });
    this.#bounded = wrap(retryPolicy, ...perAttempt, deadlineGate);
  }

  request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    let headers: Headers;
    try {
      headers = new Headers(init.headers ?? undefined);
    } catch (e) {
      return Promise.reject(e);
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const idempotent =
      isReplayable(init.body) &&
      (this.#retryNonIdempotent || IDEMPOTENT_METHODS.has(method) || headers.has('idempotency-key'));
    const signal = init.signal ?? undefined;
    const run = () =>
      (currentDeadline() === undefined ? this.#plain : this.#bounded).execute(
        (ctx) => this.#attempt(ctx, url, init, method, headers, signal),
        { signal, idempotent },
      );
    return this.#totalMs === undefined ? run() : withDeadline(this.#totalMs, run, { clock: this.#clock });
  }

  async #attempt(
    ctx: ExecuteContext,
    url: string | URL,
    init: RequestInit,
    method: string,
    baseHeaders: Headers,
    callerSignal: AbortSignal | undefined,
  ): Promise<Response> {
    const headers = new Headers(baseHeaders);
    if (this.#deadlineHeader !== undefined) {
      for (const [k, v] of Object.entries(deadlineHeaders(this.#deadlineHeader))) headers.set(k, v);
    }
    // One controller per attempt, outliving the attempt: it also stops the body read.
    const ac = new AbortController();
    const scope = ctx.signal;
    const onScopeAbort = () => ac.abort(scope.reason);
    scope.addEventListener('abort', onScopeAbort, { once: true });
    const timers = new AttemptTimers(this.#clock, ac, this.#connectMs, this.#readMs, (phase, limit) =>
      this.#timeoutError(phase, limit, method, url),
    );
    const requestInit: RequestInit = { ...init, method, headers, signal: ac.signal };
    let res: Response;
    try {
      res = await (this.#connectMs === undefined
        ? this.#fetch(url, requestInit)
        : watchSockets(timers, () => this.#fetch(url, requestInit)));
    } catch (e) {
      throw ac.signal.aborted ? abortedError(ac.signal.reason, this.#label) : e;
    } finally {
      timers.stop();
      scope.removeEventListener('abort', onScopeAbort);
    }
    if (this.#statuses.has(res.status)) {
      res.body?.cancel().catch(() => {});
      throw this.#statusError(res, method, url, ctx.attempt);
    }
    return this.#guardBody(res, ac, callerSignal, method, url);
  }

  /** Bounds the body read by the read timeout (as idle time) and the deadline, and links the caller's signal. */
  #guardBody(
    res: Response,
    ac: AbortController,
    callerSignal: AbortSignal | undefined,
    method: string,
    url: string | URL,
  ): Response {
    const idleMs = this.#readMs;
    const left = remainingTime();
    const upstream = res.body;
    if (upstream === null || NULL_BODY_STATUSES.has(res.status)) return res;
    if (idleMs === undefined && left === Number.POSITIVE_INFINITY && callerSignal === undefined) return res;
    const clock = this.#clock;
    const reader = upstream.getReader();
    let idle: TimerHandle | undefined;
    let total: TimerHandle | undefined;
    let finished = false;
    const onCaller = () => ac.abort(callerSignal?.reason);
    const finish = () => {
      if (finished) return;
      finished = true;
      if (total !== undefined) clock.clearTimeout(total);
      callerSignal?.removeEventListener('abort', onCaller);
    };
    if (callerSignal !== undefined) callerSignal.addEventListener('abort', onCaller, { once: true });
    if (left !== Number.POSITIVE_INFINITY) {
      total = clock.setTimeout(() => ac.abort(this.#timeoutError('total', left, method, url)), left);
    }
    const label = this.#label;
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (idleMs !== undefined) {
            idle = clock.setTimeout(() => ac.abort(this.#timeoutError('body', idleMs, method, url)), idleMs);
          }
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (e) {
            finish();
            throw ac.signal.aborted ? abortedError(ac.signal.reason, label) : e;
          } finally {
            if (idle !== undefined) clock.clearTimeout(idle);
            idle = undefined;
          }
          if (chunk.done) {
            finish();
            controller.close();
          } else {
            controller.enqueue(chunk.value);
          }
        },
        cancel: (reason) => {
          finish();
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    const guarded = new Response(body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    Object.defineProperties(guarded, { url: { value: res.url }, redirected: { value: res.redirected } });
    return guarded;
  }

  #timeoutError(phase: TimeoutPhase, limit: number, method: string, url: string | URL): FaultlineError {
    const what = {
      connect: 'no connection',
      headers: 'no response headers',
      body: 'the response body stalled',
      total: 'the deadline passed while reading the body',
    }[phase];
    return new FaultlineError(
      ResilienceErrorCode.Timeout,
      `${this.#label}: ${method} ${safeUrl(url)}: ${what} within ${Math.round(limit)}ms`,
      {
        policy: this.#label,
        retryable: phase !== 'total',
        details: { timeoutMs: limit, phase, method, url: safeUrl(url) },
      },
    );
  }

  #statusError(res: Response, method: string, url: string | URL, attempts: number): FaultlineError {
    const header = res.headers.get('retry-after');
    const retryAfterMs = header === null ? undefined : parseRetryAfter(header, Date.now());
    return new FaultlineError(
      ResilienceErrorCode.HttpStatus,
      `${this.#label}: ${method} ${safeUrl(url)} responded ${res.status} ${res.statusText} (attempt ${attempts})`,
      {
        policy: this.#label,
        retryable: true,
        details: {
          status: res.status,
          attempts,
          method,
          url: safeUrl(url),
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        },
      },
    );
  }
}

type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total';

/** The connect and time-to-headers timers of one attempt. */
class AttemptTimers implements SocketWatcher {
  private _timer: TimerHandle | undefined = undefined;
  private _phase: 'connect' | 'headers' | 'done';
  private _observed = false;
  private readonly _clock: Clock;
  private readonly _ac: AbortController;
  private readonly _connectMs: number | undefined;
  private readonly _readMs: number | undefined;
  private readonly _error: (phase: TimeoutPhase, limit: number) => FaultlineError;

  constructor(
    clock: Clock,
    ac: AbortController,
    connectMs: number | undefined,
    readMs: number | undefined,
    error: (phase: TimeoutPhase, limit: number) => FaultlineError,
  ) {
    this._clock = clock;
    this._ac = ac;
    this._connectMs = connectMs;
    this._readMs = readMs;
    this._error = error;
    if (connectMs !== undefined) {
      this._phase = 'connect';
      this._timer = clock.setTimeout(() => this._connectExpired(), connectMs);
    } else {
      this._phase = 'headers';
      this._armHeaders();
    }
  }

  onRequest(): void {
    this._observed = true;
  }

  onSent(): void {
    if (this._phase !== 'connect') return;
    this._clear();
    this._phase = 'headers';
    this._armHeaders();
  }

  stop(): void {
    this._clear();
    this._phase = 'done';
  }

  private _armHeaders(): void {
    const ms = this._readMs;
    if (ms !== undefined) this._timer = this._clock.setTimeout(() => this._expire('headers', ms), ms);
  }

  private _connectExpired(): void {
    this._timer = undefined;
    if (this._phase !== 'connect') return;
    if (this._observed) {
      this._expire('connect', this._connectMs as number);
      return;
    }
    // This fetch does not tell when it is connected: count the connect time toward the headers.
    this._phase = 'headers';
    this._armHeaders();
  }

  private _expire(phase: TimeoutPhase, limit: number): void {
    this._timer = undefined;
    this._phase = 'done';
    this._ac.abort(this._error(phase, limit));
  }

  private _clear(): void {
    if (this._timer !== undefined) this._clock.clearTimeout(this._timer);
    this._timer = undefined;
  }
}
