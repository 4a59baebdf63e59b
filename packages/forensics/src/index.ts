export { ANALYSIS_JSON_SCHEMA, analysisToJson } from './analysis/analysis-json.js';
export type {
  Analysis,
  Cause,
  Incident,
  LogEvidence,
  SignalOnset,
  TimelineEntry,
} from './analysis/analysis-types.js';
export { type AnalyzeOptions, analyze } from './analysis/analyze.js';
export {
  type ChangePoint,
  type ChangePointOptions,
  type Direction,
  detectChangePoint,
} from './analysis/change-point.js';
export { type FormatAnalysisOptions, formatAnalysis } from './analysis/format-analysis.js';
export { ForensicsError, ForensicsErrorCode, isForensicsError } from './errors.js';
export { formatIngestReport } from './format-report.js';
export { type Detection, detectFormat, type TelemetryFormat } from './ingest/detect-format.js';
export type { FileReport, RejectSample } from './ingest/file-report.js';
export { type ReadFileOptions, readTelemetryFile } from './ingest/read-file.js';
export type {
  EventRow,
  LogRow,
  SeriesKey,
  SpanRow,
  SpanStatus,
  TelemetrySink,
} from './ingest/telemetry-rows.js';
export {
  type IngestReport,
  type InvestigateOptions,
  type Investigation,
  investigate,
  listInputFiles,
} from './investigate.js';
export { DEFAULT_SELECTOR, type PrometheusPullOptions, pullPrometheus } from './live/prometheus-source.js';
export type { ClockSuspicion } from './quality/clock-offsets.js';
export {
  type ChartSeries,
  type IncidentCharts,
  type IncidentChartsOptions,
  incidentCharts,
} from './report/incident-charts.js';
export { type InvestigationHtmlInput, investigationHtml } from './report/investigation-html.js';
export type {
  EventRecord,
  LogCount,
  LogCountOptions,
  LogFilter,
  LogRecord,
  MetricSeries,
  MetricSeriesFilter,
  ServiceSummary,
  SignalRange,
  SpanEdge,
  SpanRecord,
  StoreQueries,
  TemplateRecord,
  TimeRange,
} from './store/store-queries.js';
export { type OpenStoreOptions, TelemetryStore } from './store/telemetry-store.js';
export {
  createTemplateMiner,
  type MinedTemplate,
  type TemplateMiner,
  type TemplateMinerOptions,
  type TemplateSummary,
} from './templates/template-miner.js';
export { maskMessage, maskToken, WILDCARD } from './templates/variable-masking.js';
export { type LeadingTimestamp, parseLeadingTimestamp } from './time/leading-timestamp.js';
export { epochMsFromDigits, epochMsFromNumber, parseIsoTime, parseTime } from './time/parse-time.js';
export { parseTimeZone, type TimeZone } from './time/time-zone.js';
export { version } from './version.js';
