import type { DestinationStream, Logger } from 'pino';
import type { RequestEndFn } from '../metrics/http-metrics.js';
import { requestIdsOf } from './request-scope.js';

export interface AccessLogOptions {
  /** The logger's own destination: lines go to the same stream, in the same shape. */
  readonly destination: DestinationStream;
  readonly service: string;
  readonly instance: string;
}

const MAX_CACHED_ROUTES = 1000;

/**
 * One `request completed` line per request, as the logger from `createLogger` writes it (level,
 * ISO time, service, instance, request and trace ids, then the request's fields), but formatted
 * here and written straight to the logger's destination: an access log runs on every request,
 * and pino's generic path (mixin, merge, serialisers) costs several times more than this line.
 * 5xx and aborted requests, which are rare and want the pool state, go through the logger.
 * @example httpMetrics.instrument(server, accessLog(log, { destination, service, instance }));
 */
export function accessLog(log: Logger, options: AccessLogOptions): RequestEndFn {
  const { destination } = options;
  const head = `,"service":${JSON.stringify(options.service)},"instance":${JSON.stringify(options.instance)}`;
  const routes = new Map<string, string>();
  let lastMs = 0;
  let lastTime = '';
  return (req, res, route, status, seconds) => {
    const ids = requestIdsOf(res);
    const code = res.statusCode;
    const duration_ms = Math.round(seconds * 1e6) / 1000;
    if (status === 'aborted' || code >= 500) {
      const line = { ...ids, method: req.method, route, status: code, duration_ms };
      if (status === 'aborted') log.warn({ ...line, aborted: true }, 'request aborted');
      else log.error(line, 'request completed');
      return;
    }
    if (!log.isLevelEnabled('info')) return;
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = new Date(now).toISOString();
    }
    let routeJson = routes.get(route);
    if (routeJson === undefined) {
      routeJson = JSON.stringify(route);
      if (routes.size < MAX_CACHED_ROUTES) routes.set(route, routeJson);
    }
    let idsJson = '';
    if (ids !== undefined) {
      idsJson = `,"request_id":${JSON.stringify(ids.request_id)}`;
      if (ids.trace_id !== undefined) idsJson += `,"trace_id":"${ids.trace_id}","span_id":"${ids.span_id}"`;
    }
    destination.write(
      `{"level":"info","time":"${lastTime}"${head}${idsJson},"method":${JSON.stringify(req.method ?? '')},"route":${routeJson},"status":${code},"duration_ms":${duration_ms},"msg":"request completed"}\n`,
    );
  };
}
