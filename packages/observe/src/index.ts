export {
  CACHE_BUCKETS,
  type CacheLike,
  CacheMetrics,
  type CacheResult,
  cacheMetricsFor,
  type InstrumentCacheOptions,
  instrumentCache,
  releaseCacheMetrics,
} from './cache/instrument-cache.js';
export {
  type InstrumentJobsOptions,
  instrumentJobs,
  JOB_BUCKETS,
  JobMetrics,
  type JobRunner,
  jobMetricsFor,
  releaseJobMetrics,
} from './jobs/instrument-jobs.js';
export {
  defaultStdout,
  type FileDestination,
  type FileDestinationOptions,
  fileDestination,
  type LogWriteStats,
  stdoutDestination,
} from './logs/file-destination.js';
export { type ActiveSpanContext, type CreateLoggerOptions, createLogger } from './logs/logger.js';
export { type RequestStore, requestContext } from './logs/request-context.js';
export { FastRegistry } from './metrics/fast-registry.js';
export type { RouteFn } from './metrics/http-metrics.js';
export { defaultRoute } from './metrics/route-label.js';
export { type ObserveLogsOptions, type ObserveOptions, type Observer, observe } from './observe.js';
export {
  type InstrumentFetchOptions,
  instrumentFetch,
  OutboundMetrics,
  type OutboundMetricsOptions,
  outboundMetrics,
  releaseOutboundMetrics,
  type StatusClass,
  statusClass,
} from './outbound/instrument-fetch.js';
export {
  type InstrumentedPool,
  type InstrumentPoolOptions,
  instrumentPool,
  type PgPoolLike,
  type PoolState,
  poolState,
} from './pool/instrument-pool.js';
export {
  type ExportRangeOptions,
  type ExportRangeResult,
  exportRange,
} from './prometheus/export-range.js';
export {
  type PrometheusTarget,
  prometheusConfig,
  type RunningPrometheus,
  type StartPrometheusOptions,
  startPrometheus,
} from './prometheus/start-prometheus.js';
export { type CollectResult, collectFiles } from './recorder/collect-files.js';
export {
  type ExpositionParseError,
  type ExpositionSample,
  type ParsedExposition,
  parseExposition,
  parseSampleValue,
} from './recorder/exposition-parser.js';
export {
  type Recorder,
  type RecorderStats,
  type RecordOptions,
  type RecordTarget,
  record,
  type TargetStats,
} from './recorder/record.js';
export {
  FileSpanExporter,
  type OtlpHttpExporterOptions,
  OtlpHttpSpanExporter,
  type TraceExportStats,
} from './traces/exporters.js';
export { type FetchLike, type TraceHttpServerOptions, tracedFetch, traceHttpServer } from './traces/http.js';
export { toOtlpJson } from './traces/otlp-json.js';
export { type TracePoolOptions, tracePool } from './traces/pool.js';
export {
  type CreateTracingOptions,
  createTracing,
  getActiveSpanContext,
  type Tracing,
  type TracingExporterOptions,
} from './traces/tracing.js';
export { OBSERVE_VERSION } from './version.js';
