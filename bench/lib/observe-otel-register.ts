/**
 * Preloaded (`node --import`) into the server of the OpenTelemetry reference variants: registers
 * the ESM loader hook and starts the NodeSDK before the service is loaded, as OpenTelemetry's
 * documentation says to. `BENCH_VARIANT` `otel_sdk`: http + pg instrumentations; `otel_auto`:
 * `getNodeAutoInstrumentations()` with default settings. Both export OTLP/HTTP (JSON) to `BENCH_SINK`.
 */
import { register } from 'node:module';
import type { Instrumentation } from '@opentelemetry/instrumentation';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const { NodeSDK } = await import('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');

let instrumentations: Instrumentation[];
if (process.env.BENCH_VARIANT === 'otel_auto') {
  const { getNodeAutoInstrumentations } = await import('@opentelemetry/auto-instrumentations-node');
  instrumentations = getNodeAutoInstrumentations();
} else {
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = await import('@opentelemetry/instrumentation-pg');
  instrumentations = [new HttpInstrumentation(), new PgInstrumentation()];
}

const sdk = new NodeSDK({
  serviceName: 'bench',
  traceExporter: new OTLPTraceExporter({ url: process.env.BENCH_SINK ?? 'http://127.0.0.1:4318/v1/traces' }),
  instrumentations,
});
sdk.start();
(globalThis as { benchShutdownTelemetry?: () => Promise<void> }).benchShutdownTelemetry = () =>
  sdk.shutdown();
