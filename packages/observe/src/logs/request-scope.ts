import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ActiveSpanContext } from './logger.js';
import { requestContext } from './request-context.js';

/** The ids an access-log line carries, taken when the request came in. */
export interface RequestIds {
  readonly request_id: string;
  readonly trace_id?: string;
  readonly span_id?: string;
}

const IDS = Symbol('faultline.observe.request-ids');
type Tagged = ServerResponse & { [IDS]?: RequestIds };

/** The ids {@link scopeRequests} took for the request of `res`, if any. */
export function requestIdsOf(res: ServerResponse): RequestIds | undefined {
  return (res as Tagged)[IDS];
}

const INVALID_TRACE_ID = '00000000000000000000000000000000';

/**
 * Runs the request listeners of `server` inside {@link requestContext.withRequest}, so every line
 * logged while handling a request carries its id, and keeps the ids (with the active span's, when
 * `getActiveSpanContext` is given) on the response for the access-log line written when it ends,
 * outside that context. Returns a function that removes the wrapper.
 * @example const unscope = scopeRequests(server);
 */
export function scopeRequests(
  server: Server,
  getActiveSpanContext?: () => ActiveSpanContext | undefined,
): () => void {
  const target = server as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const hadOwn = Object.hasOwn(target, 'emit');
  const original = target.emit;
  let active = true;
  target.emit = function emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request' || !active) return Reflect.apply(original, this, [event, ...args]) as boolean;
    const req = args[0] as IncomingMessage;
    const res = args[1] as Tagged;
    return requestContext.withRequest(req, res, () => {
      const request_id = requestContext.requestId() as string;
      const span = getActiveSpanContext?.();
      res[IDS] =
        span === undefined || span.traceId === INVALID_TRACE_ID
          ? { request_id }
          : { request_id, trace_id: span.traceId, span_id: span.spanId };
      return Reflect.apply(original, this, [event, ...args]) as boolean;
    });
  };
  return () => {
    if (!active) return;
    active = false;
    if (hadOwn) target.emit = original;
    else delete (target as { emit?: unknown }).emit;
  };
}
