import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { context } from '@opentelemetry/api';
import type { AccessLogFn, RequestIds } from '../logs/access-log.js';
import { isRequestContextWanted, requestIdOf, runInRequest, withRequestId } from '../logs/request-context.js';
import type { HttpMetrics } from '../metrics/http-metrics.js';
import { defaultRoute } from '../metrics/route-label.js';
import { endServerSpan, failServerSpan, startServerSpan } from '../traces/http.js';
import type { Tracing } from '../traces/tracing.js';

export interface InstrumentServerOptions {
  /** Counts and times every response. */
  readonly metrics: HttpMetrics;
  /** With logs: each request gets (and echoes) an `x-request-id` and is run as part of it. */
  readonly requestIds: boolean;
  /** With `requestIds`, sets `x-request-id` on the response; default true. */
  readonly echoRequestId?: boolean | undefined;
  /** One line per response, with the ids taken when the request came in. */
  readonly accessLog?: AccessLogFn | undefined;
  /** A SERVER span per request, active in its listeners. */
  readonly tracing?: Tracing | undefined;
  /** The span name's route, as for the metrics. */
  readonly route?: ((req: IncomingMessage) => string) | undefined;
}

/**
 * Everything `observe()` does per request of a server, in one wrapper of its `emit` and one
 * `close` listener per response (rather than one of each per concern): the request id, the
 * SERVER span and its context, then, when the response closes, the metrics, the access line and
 * the span's end. Returns a function that removes the wrapper.
 * @example const unhook = instrumentServer(server, { metrics, requestIds: true, accessLog, tracing });
 */
export function instrumentServer(server: Server, options: InstrumentServerOptions): () => void {
  const { metrics, requestIds, accessLog, tracing } = options;
  const echo = options.echoRequestId !== false;
  const routeOf = options.route ?? defaultRoute;
  const target = server as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const hadOwn = Object.hasOwn(target, 'emit');
  const original = target.emit;
  let active = true;
  const emitRequest = (self: unknown, req: IncomingMessage, res: ServerResponse): boolean =>
    original.call(self, 'request', req, res);
  const emitInRequest = (requestId: string, self: unknown, req: IncomingMessage, res: ServerResponse) =>
    runInRequest(requestId, emitRequest, self, req, res);
  target.emit = function emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request' || !active) return Reflect.apply(original, this, [event, ...args]) as boolean;
    const req = args[0] as IncomingMessage;
    const res = args[1] as ServerResponse;
    const start = performance.now();
    const started = tracing === undefined ? undefined : startServerSpan(tracing, req, routeOf(req));
    const span = started?.span;
    let ids: RequestIds | undefined;
    if (requestIds) {
      const request_id = requestIdOf(req);
      if (echo && !res.headersSent) res.setHeader('x-request-id', request_id);
      const sc = span?.spanContext();
      ids = sc === undefined ? { request_id } : { request_id, trace_id: sc.traceId, span_id: sc.spanId };
    }
    // a response emits 'close' once, after 'finish' or when the connection closed first (`on`
    // rather than `once`: no wrapper to allocate)
    res.on('close', () => {
      const seconds = (performance.now() - start) / 1000;
      const { route, status } = metrics.observeResponse(req, res, seconds);
      accessLog?.(req, res, route, status, seconds, ids);
      if (span !== undefined) endServerSpan(span, res);
    });
    if (started === undefined) {
      return ids === undefined ? emitRequest(this, req, res) : emitInRequest(ids.request_id, this, req, res);
    }
    try {
      if (ids === undefined) return context.with(started.context, emitRequest, undefined, this, req, res);
      // once ids are read, the span's context carries the id too: one context entered, not two
      return isRequestContextWanted()
        ? context.with(withRequestId(started.context, ids.request_id), emitRequest, undefined, this, req, res)
        : context.with(started.context, emitInRequest, undefined, ids.request_id, this, req, res);
    } catch (e) {
      failServerSpan(started.span, e);
      throw e;
    }
  };
  return () => {
    if (!active) return;
    active = false;
    if (hadOwn) target.emit = original;
    else delete (target as { emit?: unknown }).emit;
  };
}
