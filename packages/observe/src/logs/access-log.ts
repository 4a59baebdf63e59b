import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DestinationStream, Logger } from 'pino';

/** The ids an access-log line carries, taken when the request came in. */
export interface RequestIds {
  readonly request_id: string;
  readonly trace_id?: string;
  readonly span_id?: string;
}

/** Writes the line of one request, given what its metrics recorded. */
export type AccessLogFn = (
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  status: string,
  seconds: number,
  ids: RequestIds | undefined,
) => void;

export interface AccessLogOptions {
  /** The logger's own destination: lines go to the same stream, in the same shape. */
  readonly destination: DestinationStream;
  readonly service: string;
  readonly instance: string;
}

const MAX_CACHED_ROUTES = 1000;

/**
 * Microseconds as milliseconds with three decimals (`3.214`), from integers: turning a double
 * such as 3.214 into text costs V8 several times more.
 */
function millis(micros: number): string {
  const frac = micros % 1000;
  return `${(micros - frac) / 1000}.${frac < 10 ? `00${frac}` : frac < 100 ? `0${frac}` : frac}`;
}

/**
 * One `request completed` line per request, as the logger from `createLogger` writes it (level,
 * ISO time, service, instance, request and trace ids, then the request's fields), but formatted
 * here and written straight to the logger's destination: an access log runs on every request,
 * and pino's generic path (mixin, merge, serialisers) costs several times more than this line.
 * 5xx and aborted requests, which are rare and want the pool state, go through the logger.
 * @example const write = accessLog(log, { destination, service, instance }); write(req, res, route, '200', 0.003, ids);
 */
export function accessLog(log: Logger, options: AccessLogOptions): AccessLogFn {
  const { destination } = options;
  const head = `,"service":${JSON.stringify(options.service)},"instance":${JSON.stringify(options.instance)}`;
  // The parts of a line that repeat are built once and reused, so that a line is a handful of
  // pieces: per millisecond its start (level, time, service, instance), per route its method,
  // route and status. An access line runs on every request; its garbage is the service's too.
  const routes = new Map<string, RouteSegment>();
  let lastMs = 0;
  let start = '';
  return (req, res, route, status, seconds, ids) => {
    const code = res.statusCode;
    const micros = Math.round(seconds * 1e6);
    if (status === 'aborted' || code >= 500) {
      const line = { ...ids, method: req.method, route, status: code, duration_ms: micros / 1000 };
      if (status === 'aborted') log.warn({ ...line, aborted: true }, 'request aborted');
      else log.error(line, 'request completed');
      return;
    }
    if (!log.isLevelEnabled('info')) return;
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      start = `{"level":"info","time":"${new Date(now).toISOString()}"${head}`;
    }
    const method = req.method ?? '';
    let segment = routes.get(route);
    if (segment === undefined || segment.method !== method || segment.code !== code) {
      segment = {
        method,
        code,
        text: `,"method":${JSON.stringify(method)},"route":${JSON.stringify(route)},"status":${code},"duration_ms":`,
      };
      if (routes.size < MAX_CACHED_ROUTES || routes.has(route)) routes.set(route, segment);
    }
    let idsJson = '';
    if (ids !== undefined) {
      const id = ids.request_id;
      idsJson = `,"request_id":${JSON_SAFE.test(id) ? `"${id}"` : JSON.stringify(id)}`;
      if (ids.trace_id !== undefined) idsJson += `,"trace_id":"${ids.trace_id}","span_id":"${ids.span_id}"`;
    }
    destination.write(`${start}${idsJson}${segment.text}${millis(micros)}${TAIL}`);
  };
}

/** What a route's lines repeat: its method, route and status, as they are written. */
interface RouteSegment {
  readonly method: string;
  readonly code: number;
  readonly text: string;
}

const TAIL = ',"msg":"request completed"}\n';
/** Text a JSON string holds as it is: printable ASCII but `"` and `\\` (a request id, usually). */
const JSON_SAFE = /^[ !#-[\]-~]*$/;
