import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the logger's mixin reads for every line written inside `withRequest`. */
export interface RequestStore {
  readonly requestId: string;
}

const REQUEST_ID_HEADER = 'x-request-id';
// A client-supplied id is echoed in a response header and copied into every log line, so only a
// short run of visible ASCII is accepted; anything else is replaced by a generated id.
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

const storage = new AsyncLocalStorage<RequestStore>();

function incomingRequestId(req: IncomingMessage): string | undefined {
  const raw = req.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value !== undefined && ACCEPTABLE_ID.test(value) ? value : undefined;
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
    const requestId = incomingRequestId(req) ?? randomUUID();
    if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, requestId);
    return storage.run({ requestId }, fn);
  },
  /** Runs `fn` with an explicit request id, e.g. for a background job picked from a queue. */
  run<T>(requestId: string, fn: () => T): T {
    return storage.run({ requestId }, fn);
  },
  /** The current request id, or undefined outside `withRequest`/`run`. */
  requestId(): string | undefined {
    return storage.getStore()?.requestId;
  },
};
