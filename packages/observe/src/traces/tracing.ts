import { hostname } from 'node:os';
import { context, type SpanContext, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type BufferConfig,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { FileSpanExporter, OtlpHttpSpanExporter, type TraceExportStats } from './exporters.js';

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
  /** BatchSpanProcessor settings (queue size, batch size, delay); default delay 1000 ms. */
  readonly batch?: BufferConfig;
  /**
   * Also register as the global tracer provider (so `trace.getTracer()` elsewhere records into it).
   * Default false. The AsyncLocalStorage context manager is always registered, unless one is.
   */
  readonly global?: boolean;
}

export interface Tracing {
  readonly provider: BasicTracerProvider;
  readonly tracer: Tracer;
  readonly propagator: W3CTraceContextPropagator;
  /** The active span's ids, for `createLogger({ getActiveSpanContext })`. */
  getActiveSpanContext(): SpanContext | undefined;
  /** Exported, dropped and failed counts of the exporter. */
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
 * An OpenTelemetry tracer provider with an AsyncLocalStorage context manager, a batch processor
 * and an OTLP/JSON exporter (file or OTLP/HTTP) that drops and counts on failure.
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
  const ratio = options.sampleRatio ?? 1;
  const root = ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(Math.max(0, ratio));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.service,
      'service.instance.id': options.instance ?? `${hostname()}:${process.pid}`,
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'faultline-observe',
    }),
    sampler: new ParentBasedSampler({ root }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000, ...options.batch })],
  });
  const contextManager = new AsyncLocalStorageContextManager();
  const ownsContext = context.setGlobalContextManager(contextManager.enable());
  if (!ownsContext) contextManager.disable();
  const ownsProvider = options.global === true && trace.setGlobalTracerProvider(provider);
  let closing: Promise<void> | undefined;
  return {
    provider,
    tracer: provider.getTracer('@faultline/observe'),
    propagator: new W3CTraceContextPropagator(),
    getActiveSpanContext,
    stats: () => exporter.stats(),
    forceFlush: () => provider.forceFlush().catch(() => undefined),
    shutdown: () => {
      closing ??= provider
        .shutdown()
        .catch(() => undefined)
        .finally(() => {
          if (ownsProvider) trace.disable();
          if (ownsContext) context.disable();
        });
      return closing;
    },
  };
}
