import { hostname } from 'node:os';
import { context, type SpanContext, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OBSERVE_VERSION } from '../version.js';
import { FileSpanExporter, OtlpHttpSpanExporter, type TraceExportStats } from './exporters.js';
import { LeanTracerProvider } from './lean-tracer.js';
import { otlpJsonWriter } from './otlp-json.js';
import { SpanBatcher, type TraceBatchOptions } from './span-batcher.js';

export type TracingExporterOptions =
  /** Append OTLP/JSON lines to this file (the bundle's trace format). */
  | { readonly file: string }
  /** POST OTLP/JSON to a collector (`http://collector:4318` gets `/v1/traces`). */
  | {
      readonly otlpUrl: string;
      readonly timeoutMs?: number;
      readonly headers?: Readonly<Record<string, string>>;
    };

export interface CreateTracingOptions {
  /** `service.name` of every span. */
  readonly service: string;
  /** `service.instance.id`; defaults to `hostname:pid`. */
  readonly instance?: string;
  readonly exporter: TracingExporterOptions;
  /** Share of new traces recorded (0–1); a remote parent's decision is followed. Default 1. */
  readonly sampleRatio?: number;
  /** Queue size (2048), batch size (512) and longest wait of a span (1000 ms). */
  readonly batch?: TraceBatchOptions;
  /**
   * Also register as the global tracer provider (so `trace.getTracer()` elsewhere records into it).
   * Default false. The AsyncLocalStorage context manager is always registered, unless one is.
   */
  readonly global?: boolean;
}

export interface Tracing {
  /** Gives tracers for other instrumentation scopes, recording into the same exporter. */
  readonly provider: TracerProvider;
  readonly tracer: Tracer;
  readonly propagator: W3CTraceContextPropagator;
  /** The active span's ids, for `createLogger({ getActiveSpanContext })`. */
  getActiveSpanContext(): SpanContext | undefined;
  /** Exported, dropped (failed exports and a full queue) and failed counts of the exporter. */
  stats(): TraceExportStats;
  forceFlush(): Promise<void>;
  /** Flushes buffered spans, then stops; never rejects. */
  shutdown(): Promise<void>;
}

/** The ids of the span active in the current async context, if any. */
export function getActiveSpanContext(): SpanContext | undefined {
  return trace.getSpan(context.active())?.spanContext();
}

/**
 * OpenTelemetry tracing for a service: a tracer implementing the OpenTelemetry API (so spans
 * made with `trace.getTracer()` or `tracing.tracer` and context propagation work as with the
 * SDK) that records ended spans as plain objects, batches them and writes OTLP/JSON to a file or
 * a collector, dropping and counting on failure or a full queue. The AsyncLocalStorage context
 * manager is registered unless one is.
 * @example const tracing = createTracing({ service: 'api', exporter: { file: 'spans/otlp.json' } });
 */
export function createTracing(options: CreateTracingOptions): Tracing {
  const exporterOptions = options.exporter;
  const exporter =
    'file' in exporterOptions
      ? new FileSpanExporter(exporterOptions.file)
      : new OtlpHttpSpanExporter({
          url: exporterOptions.otlpUrl,
          ...(exporterOptions.timeoutMs === undefined ? {} : { timeoutMs: exporterOptions.timeoutMs }),
          ...(exporterOptions.headers === undefined ? {} : { headers: exporterOptions.headers }),
        });
  const write = otlpJsonWriter({
    'service.name': options.service,
    'service.instance.id': options.instance ?? `${hostname()}:${process.pid}`,
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'faultline-observe',
    'telemetry.sdk.version': OBSERVE_VERSION,
  });
  const batcher = new SpanBatcher(exporter, write, options.batch);
  const provider = new LeanTracerProvider((span) => batcher.add(span), {
    sampleRatio: Math.max(0, options.sampleRatio ?? 1),
  });
  const contextManager = new AsyncLocalStorageContextManager();
  const ownsContext = context.setGlobalContextManager(contextManager.enable());
  if (!ownsContext) contextManager.disable();
  const ownsProvider = options.global === true && trace.setGlobalTracerProvider(provider);
  let closing: Promise<void> | undefined;
  return {
    provider,
    tracer: provider.getTracer('@faultline/observe', OBSERVE_VERSION),
    propagator: new W3CTraceContextPropagator(),
    getActiveSpanContext,
    stats: () => exporter.stats(),
    forceFlush: () => batcher.flush().then(() => exporter.forceFlush()),
    shutdown: () => {
      closing ??= batcher
        .shutdown()
        .then(() => exporter.shutdown())
        .catch(() => undefined)
        .finally(() => {
          if (ownsProvider) trace.disable();
          if (ownsContext) context.disable();
        });
      return closing;
    },
  };
}
