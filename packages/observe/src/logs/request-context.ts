import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Context, context, createContextKey } from '@opentelemetry/api';

/** What the logger's mixin reads for every line written inside `withRequest`. */
export interface RequestStore {
  readonly requestId: string;
}

const REQUEST_ID_HEADER = 'x-request-id';
// A client-supplied id is echoed in a response header and copied into every log line, so only a
// short run of visible ASCII is accepted; anything else is replaced by a generated id.
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

const storage = new AsyncLocalStorage<RequestStore>();
// On Node 20 the first AsyncLocalStorage entered turns on promise hooks for the whole process,
// which costs ~15–20 µs of CPU per request of a typical service. `observe()` therefore enters it
// only once something reads request ids (a logger from `createLogger`, `observer.log`,
// `requestContext.requestId()`); until then the id is only current while the request's listeners
// run synchronously.
let wanted = false;
let syncStore: RequestStore | undefined;

/**
 * The first value of header `name` (lower case) from `req.rawHeaders`: Node builds `req.headers`
 * lazily, on first read, and a service that never reads it should not pay for it per request.
 */
export function rawHeader(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}

/** The id to use for a request: its acceptable `x-request-id`, or a generated one. */
export function requestIdOf(req: IncomingMessage): string {
  const value = rawHeader(req, REQUEST_ID_HEADER);
  return value !== undefined && ACCEPTABLE_ID.test(value) ? value : randomUUID();
}

/** Says that request ids are read from now on, so {@link runInRequest} enters the async context. */
export function wantRequestContext(): void {
  wanted = true;
}

// With tracing on, the request id rides in the OpenTelemetry context of the request's span: one
// AsyncLocalStorage (the context manager's) carries both, instead of two entered per request.
const REQUEST_ID = createContextKey('faultline.observe.request-id');

/** Whether request ids are read (so that they must follow the request's async work). */
export function isRequestContextWanted(): boolean {
  return wanted;
}

/** `ctx` carrying `requestId` for {@link currentRequestId}. */
export function withRequestId(ctx: Context, requestId: string): Context {
  return ctx.setValue(REQUEST_ID, requestId);
}

/** The current request id, without marking the context as wanted (for the loggers' own mixin). */
export function currentRequestId(): string | undefined {
  const store = storage.getStore();
  if (store !== undefined) return store.requestId;
  const fromContext = context.active().getValue(REQUEST_ID);
  return typeof fromContext === 'string' ? fromContext : syncStore?.requestId;
}

/**
 * Runs `fn` as part of request `requestId`: in the async context once request ids are wanted
 * (see {@link wantRequestContext}), else with the id current for `fn`'s synchronous part only.
 */
export function runInRequest<A extends unknown[], T>(
  requestId: string,
  fn: (...args: A) => T,
  ...args: A
): T {
  if (wanted) return storage.run({ requestId }, fn, ...args);
  const previous = syncStore;
  syncStore = { requestId };
  try {
    return fn(...args);
  } finally {
    syncStore = previous;
  }
}

/**
 * The request id of the current async context, shared by every logger from `createLogger`.
 *
 * @example server.on('request', (req, res) => requestContext.withRequest(req, res, () => handle(req, res)));
 */
export const requestContext = {
  /**
   * Runs `fn` with the request's `x-request-id` (taken from the request, or generated) as the
   * current request id, and sets that id on the response header before `fn` runs.
   */
  withRequest<T>(req: IncomingMessage, res: ServerResponse, fn: () => T): T {
    const requestId = requestIdOf(req);
    if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, requestId);
    return storage.run({ requestId }, fn);
  },
  /** Runs `fn` with an explicit request id, e.g. for a background job picked from a queue. */
  run<T>(requestId: string, fn: () => T): T {
    return storage.run({ requestId }, fn);
  },
  /** The current request id, or undefined outside `withRequest`/`run`. */
  requestId(): string | undefined {
    wanted = true;
    return currentRequestId();
  },
};
