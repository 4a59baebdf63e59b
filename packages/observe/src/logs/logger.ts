import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';
import { defaultStdout, fileDestination } from './file-destination.js';
import { currentRequestId, wantRequestContext } from './request-context.js';

/** The ids of the active span, as OpenTelemetry's `trace.getActiveSpan()?.spanContext()` gives them. */
export interface ActiveSpanContext {
  readonly traceId: string;
  readonly spanId: string;
}

export interface CreateLoggerOptions {
  /** Written as `service` on every line. */
  readonly service: string;
  /** Written as `instance` on every line; defaults to `<hostname>:<pid>`. */
  readonly instance?: string;
  /** Lowest level written; defaults to `info`. */
  readonly level?: LevelWithSilent;
  /**
   * Where lines go: a stream, a file path (written asynchronously; a failing disk is counted by
   * the stream, never thrown), or (by default) stdout, buffered as `stdoutDestination` describes
   * and shared with every other logger of this package that names no destination.
   */
  readonly destination?: DestinationStream | string;
  /** Read on every error and fatal line; its fields (e.g. `pool_active`, `pool_max`) are added to the line. */
  readonly poolState?: () => Readonly<Record<string, number>>;
  /** Hook into a tracer without depending on it: returns the active span's ids, if any. */
  readonly getActiveSpanContext?: () => ActiveSpanContext | undefined;
}

const ERROR_LEVEL = 50;
const INVALID_TRACE_ID = '00000000000000000000000000000000';

function defaultInstance(): string {
  return `${process.env.HOSTNAME ?? 'localhost'}:${process.pid}`;
}

/**
 * A pino logger writing JSON lines with `service`, `instance`, ISO `time`, `level` as a label,
 * `msg`, and, when known, `request_id`, `trace_id`, `span_id` and (on errors) the pool state.
 *
 * @example const log = createLogger({ service: 'api', poolState: () => ({ pool_active: pool.totalCount }) });
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  wantRequestContext();
  return buildLogger(options);
}

/** {@link createLogger} without asking for the request context (`observe()` asks when `log` is read). */
export function buildLogger(options: CreateLoggerOptions): Logger {
  const { poolState, getActiveSpanContext } = options;
  const destination =
    typeof options.destination === 'string'
      ? fileDestination(options.destination).stream
      : (options.destination ?? defaultStdout().stream);
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, instance: options.instance ?? defaultInstance() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin(_mergeObject, level) {
        const fields: Record<string, string | number> = {};
        const requestId = currentRequestId();
        if (requestId !== undefined) fields.request_id = requestId;
        if (getActiveSpanContext !== undefined) {
          const span = safely(getActiveSpanContext);
          if (span !== undefined && span.traceId !== INVALID_TRACE_ID) {
            fields.trace_id = span.traceId;
            fields.span_id = span.spanId;
          }
        }
        if (level >= ERROR_LEVEL && poolState !== undefined) {
          const state = safely(poolState);
          if (state !== undefined) {
            for (const [key, value] of Object.entries(state)) {
              if (typeof value === 'number') fields[key] = value;
            }
          }
        }
        return fields;
      },
    },
    destination,
  );
}

// A broken provider must never cost the log line it was asked to enrich.
function safely<T>(provider: () => T): T | undefined {
  try {
    return provider();
  } catch {
    return undefined;
  }
}
