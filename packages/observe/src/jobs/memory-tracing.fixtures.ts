import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Tracing } from '../traces/tracing.js';

/** A Tracing that keeps finished spans in memory; `close()` shuts it down and frees the context. */
export function memoryTracing(): {
  tracing: Tracing;
  exporter: InMemorySpanExporter;
  close(): Promise<void>;
} {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const manager = new AsyncLocalStorageContextManager();
  const owns = context.setGlobalContextManager(manager.enable());
  if (!owns) manager.disable();
  const tracing: Tracing = {
    provider,
    tracer: provider.getTracer('test'),
    propagator: new W3CTraceContextPropagator(),
    getActiveSpanContext: () => undefined,
    stats: () => ({ exported: 0, dropped: 0, failed: 0 }) as unknown as ReturnType<Tracing['stats']>,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return {
    tracing,
    exporter,
    close: async () => {
      await provider.shutdown();
      exporter.reset();
      if (owns) context.disable();
    },
  };
}
