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

/** An access log; with `batch`, `drain` writes the lines it holds. */
export interface AccessLog extends AccessLogFn {
  /** Formats and writes the lines held back (a no-op without `batch`, or with none held). */
  drain(): void;
}

export interface AccessLogOptions {
  /** The logger's own destination: lines go to the same stream, in the same shape. */
  readonly destination: DestinationStream;
  readonly service: string;
  readonly instance: string;
  /**
   * Requests whose lines are held back and then formatted together, in one string; 0 or absent
   * writes each line at once. The owner of the destination must call `drain` before anything else
   * is written to it and before it flushes, so that lines keep their order and never wait longer
   * than the destination's own buffer would have kept them.
   */
  readonly batch?: number;
}

const MAX_CACHED_ROUTES = 1000;
/** Values held per request while batching: time, method, route, status code, µs, ids. */
const FIELDS = 6;

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
 *
 * With `batch`, a request only records its six values; the lines are formatted together when
 * `batch` requests are held or at `drain`. Formatting one line per request, between the server's
 * and the database client's own work, cost about five times what the same code costs in a loop
 * of lines (its code and data are cold each time): about 10 µs of CPU per request in the observe
 * bench, against 5 batched.
 * @example const write = accessLog(log, { destination, service, instance }); write(req, res, route, '200', 0.003, ids);
 */
export function accessLog(log: Logger, options: AccessLogOptions): AccessLog {
  const { destination } = options;
  const head = `,"service":${JSON.stringify(options.service)},"instance":${JSON.stringify(options.instance)}`;
  // The parts of a line that repeat are built once and reused, so that a line is a handful of
  // pieces: per millisecond its start (level, time, service, instance), per route its method,
  // route and status. An access line runs on every request; its garbage is the service's too.
  const routes = new Map<string, RouteSegment>();
  let lastMs = 0;
  let start = '';
  const line = (
    now: number,
    method: string,
    route: string,
    code: number,
    micros: number,
    ids: RequestIds | undefined,
  ) => {
    if (now !== lastMs) {
      lastMs = now;
      start = `{"level":"info","time":"${new Date(now).toISOString()}"${head}`;
    }
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
    return `${start}${idsJson}${segment.text}${millis(micros)}${TAIL}`;
  };
  const held = Math.max(0, Math.floor(options.batch ?? 0)) * FIELDS;
  // one flat array of the held requests' values (no object per request)
  const pending: (number | string | RequestIds | undefined)[] = [];
  const drain = () => {
    if (pending.length === 0) return;
    let out = '';
    for (let i = 0; i < pending.length; i += FIELDS)
      out += line(
        pending[i] as number,
        pending[i + 1] as string,
        pending[i + 2] as string,
        pending[i + 3] as number,
        pending[i + 4] as number,
        pending[i + 5] as RequestIds | undefined,
      );
    // emptied first: the destination may ask for a drain again before it takes the text
    pending.length = 0;
    destination.write(out);
  };
  const write: AccessLogFn = (req, res, route, status, seconds, ids) => {
    const code = res.statusCode;
    const micros = Math.round(seconds * 1e6);
    if (status === 'aborted' || code >= 500) {
      const fields = { ...ids, method: req.method, route, status: code, duration_ms: micros / 1000 };
      if (status === 'aborted') log.warn({ ...fields, aborted: true }, 'request aborted');
      else log.error(fields, 'request completed');
      return;
    }
    if (!log.isLevelEnabled('info')) return;
    if (held === 0) {
      destination.write(line(Date.now(), req.method ?? '', route, code, micros, ids));
      return;
    }
    pending.push(Date.now(), req.method ?? '', route, code, micros, ids);
    if (pending.length >= held) drain();
  };
  return Object.assign(write, { drain });
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
