import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  type Attributes,
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { defaultRoute } from '../metrics/route-label.js';
import type { Tracing } from './tracing.js';

export interface TraceHttpServerOptions {
  /** Bounded route for the span name and `http.route`, e.g. `GET /users/:id`; default method + first path segment. */
  readonly route?: (req: IncomingMessage) => string;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * A SERVER span around every request `server` emits, continuing a W3C `traceparent` from the
 * request headers; the span is active in the request listeners (and everything they await).
 * Returns a function that removes the instrumentation.
 * @example const untrace = traceHttpServer(server, tracing);
 */
export function traceHttpServer(
  server: Server,
  tracing: Tracing,
  options: TraceHttpServerOptions = {},
): () => void {
  const { tracer, propagator } = tracing;
  const routeOf = options.route ?? defaultRoute;
  const target = server as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const hadOwn = Object.hasOwn(target, 'emit');
  const original = target.emit;
  let active = true;
  target.emit = function emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request' || !active) return Reflect.apply(original, this, [event, ...args]) as boolean;
    const req = args[0] as IncomingMessage;
    const res = args[1] as ServerResponse;
    const parent =
      req.headers.traceparent === undefined
        ? ROOT_CONTEXT
        : propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const route = routeOf(req);
    const space = route.indexOf(' ');
    const attributes: Attributes = {
      'http.request.method': req.method ?? 'GET',
      'http.route': space === -1 ? route : route.slice(space + 1),
      'url.path': pathOf(req.url ?? '/'),
      'url.scheme': 'http',
    };
    const span = tracer.startSpan(route, { kind: SpanKind.SERVER, attributes }, parent);
    res.once('close', () => {
      const status = res.statusCode;
      span.setAttribute('http.response.status_code', status);
      if (!res.writableFinished) {
        span.setAttribute('error.type', 'aborted');
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: 'connection closed before the response finished',
        });
      } else if (status >= 500) {
        span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    });
    try {
      return context.with(trace.setSpan(parent, span), original, this, event, ...args);
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.message ?? String(e) });
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

const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A `fetch` that makes a CLIENT span per call (method, host, port, URL without query, status)
 * and sends the W3C `traceparent` of that span.
 * @example const fetch = tracedFetch(tracing); await fetch('http://inventory:8080/items');
 */
export function tracedFetch(tracing: Tracing, fetchImpl: FetchLike = globalThis.fetch): FetchLike {
  const { tracer, propagator } = tracing;
  return async function fetch(input, init) {
    const isRequest = typeof Request !== 'undefined' && input instanceof Request;
    let url: URL;
    try {
      url = new URL(isRequest ? input.url : input);
    } catch {
      return fetchImpl(input, init);
    }
    const method = (init?.method ?? (isRequest ? input.method : 'GET')).toUpperCase();
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const span = tracer.startSpan(method, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'server.address': url.hostname,
        'server.port': port,
        'url.full': `${url.origin}${url.pathname}`,
      },
    });
    const ctx = trace.setSpan(context.active(), span);
    const headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
    propagator.inject(ctx, headers, headersSetter);
    try {
      const res = await fetchImpl(input, { ...init, headers });
      span.setAttribute('http.response.status_code', res.status);
      if (res.status >= 500) {
        span.setAttribute('error.type', String(res.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return res;
    } catch (e) {
      span.recordException(e as Error);
      span.setAttribute('error.type', (e as Error)?.name ?? 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.message ?? String(e) });
      throw e;
    } finally {
      span.end();
    }
  };
}
