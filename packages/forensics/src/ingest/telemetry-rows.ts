/** One log record as stored. Times are epoch milliseconds (DOUBLE, sub-ms fraction kept). */
export interface LogRow {
  readonly timeMs: number;
  readonly service: string | null;
  readonly instance: string | null;
  /** Normalised: trace, debug, info, warn, error, fatal, or the original text lower-cased. */
  readonly level: string | null;
  readonly message: string;
  readonly requestId: string | null;
  readonly traceId: string | null;
  readonly spanId: string | null;
  /** The record as read (JSON text) for JSON logs; null for text lines. */
  readonly attrs: string | null;
  /** 1-based line in the file (null when the bulk path read it). */
  readonly line: number | null;
}

export type SpanStatus = 'ok' | 'error' | 'unset';

/** One span. `startMs` is epoch ms, `durationMs` milliseconds. */
export interface SpanRow {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly service: string | null;
  readonly instance: string | null;
  readonly name: string;
  /** server, client, internal, producer, consumer, or unspecified. */
  readonly kind: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly status: SpanStatus;
  /** Span and resource attributes as a JSON object text. */
  readonly attrs: string | null;
}

/** A discrete event: deploy, config change, injected fault, load-balancer ejection… */
export interface EventRow {
  readonly timeMs: number;
  readonly kind: string;
  readonly service: string | null;
  readonly instance: string | null;
  /** The record as read (JSON text). */
  readonly attrs: string;
}

/** A metric series: its name and labels (the name is also `__name__` in Prometheus terms). */
export interface SeriesKey {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Where readers put what they read. Calls are synchronous: the store buffers them. */
export interface TelemetrySink {
  log(row: LogRow): void;
  span(row: SpanRow): void;
  event(row: EventRow): void;
  /** The id of a series (the same key always gets the same id). */
  series(key: SeriesKey): number;
  sample(seriesId: number, timeMs: number, value: number): void;
}
