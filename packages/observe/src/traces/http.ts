import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { rawHeader } from '../logs/request-context.js';
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

// reads the request's raw headers, so that `req.headers` is only built if the service reads it
const rawHeadersGetter: TextMapGetter<IncomingMessage> = {
  get: (req, key) => rawHeader(req, key),
  keys: (req) => req.rawHeaders.filter((_, i) => i % 2 === 0).map((k) => k.toLowerCase()),
};

/**
 * Starts the SERVER span of `req`, continuing a W3C `traceparent` from its headers; returns it
 * with the context to run the request's listeners in.
 */
export function startServerSpan(
  tracing: Tracing,
  req: IncomingMessage,
  route: string,
): { readonly span: Span; readonly context: Context } {
  const parent =
    rawHeader(req, 'traceparent') === undefined
      ? ROOT_CONTEXT
      : tracing.propagator.extract(ROOT_CONTEXT, req, rawHeadersGetter);
  const space = route.indexOf(' ');
  const attributes: Attributes = {
    'http.request.method': req.method ?? 'GET',
    'http.route': space === -1 ? route : route.slice(space + 1),
    'url.path': pathOf(req.url ?? '/'),
    'url.scheme': 'http',
  };
  const span = tracing.tracer.startSpan(route, { kind: SpanKind.SERVER, attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends the SERVER span of a response that closed: its status, and ERROR on 5xx or an abort. */
export function endServerSpan(span: Span, res: ServerResponse): void {
  const status = res.statusCode;
  span.setAttribute('http.response.status_code', status);
  if (!res.writableFinished) {
    span.setAttribute('error.type', 'aborted');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response finished' });
  } else if (status >= 500) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** Marks `span` as failed by a listener that threw. */
export function failServerSpan(span: Span, e: unknown): void {
  span.recordException(e instanceof Error ? e : String(e));
  span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
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
  const routeOf = options.route ?? defaultRoute;
  const target = server as unknown as { emit: (event: string | symbol, ...args: unknown[]) => boolean };
  const hadOwn = Object.hasOwn(target, 'emit');
  const original = target.emit;
  let active = true;
  target.emit = function emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request' || !active) return Reflect.apply(original, this, [event, ...args]) as boolean;
    const req = args[0] as IncomingMessage;
    const res = args[1] as ServerResponse;
    const { span, context: ctx } = startServerSpan(tracing, req, routeOf(req));
    res.once('close', () => endServerSpan(span, res));
    try {
      return context.with(ctx, original, this, event, ...args);
    } catch (e) {
      failServerSpan(span, e);
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

export interface TracedFetchOptions {
  /** `peer.service` of a call's span: the callee's name in service graphs (e.g. `pricing-api`). */
  readonly peerService?: (url: URL) => string;
}

/**
 * A `fetch` that makes a CLIENT span per call (method, host, port, URL without query, status)
 * and sends the W3C `traceparent` of that span.
 * @example const fetch = tracedFetch(tracing); await fetch('http://inventory:8080/items');
 */
export function tracedFetch(
  tracing: Tracing,
  fetchImpl: FetchLike = globalThis.fetch,
  options: TracedFetchOptions = {},
): FetchLike {
  const { tracer, propagator } = tracing;
  const { peerService } = options;
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
        ...(peerService === undefined ? {} : { 'peer.service': peerService(url) }),
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
