import { basename } from 'node:path';
import type { TimeZone } from '../time/time-zone.js';
import { UTC } from '../time/time-zone.js';
import { readDocument, readHead, readLines } from './byte-source.js';
import { classifyJson, type Detection, detectFormat } from './detect-format.js';
import { FileReportBuilder } from './file-report.js';
import {
  type JsonContext,
  readJaeger,
  readOtlpLogs,
  readOtlpTraces,
  readPrometheusResponse,
  readPrometheusSeries,
  readZipkin,
} from './json-documents.js';
import { eventFromObject, isObject, logFromObject } from './json-fields.js';
import type { TelemetrySink } from './telemetry-rows.js';
import { csvMetricsReader, type LineHandler, prometheusTextReader, textLogReader } from './text-readers.js';

export interface ReadFileOptions {
  /** Zone for times written without one (`--tz`); UTC by default. */
  readonly zone?: TimeZone;
  /** Year for text timestamps that omit it (syslog); the current year by default. */
  readonly year?: number;
  /** Longest accepted log/event/CSV line; longer lines are rejected. Default 1 MiB. */
  readonly maxLineBytes?: number;
  /** Longest accepted JSON document (a whole-file export, or one export per line). Default 512 MiB. */
  readonly maxDocumentBytes?: number;
  readonly signal?: AbortSignal;
  /** Skip detection (tests, or a caller who knows better). */
  readonly detection?: Detection;
  /**
   * Called for large JSON-lines log files before the line-by-line reader: returns true when it
   * stored the file itself (the DuckDB bulk path).
   */
  readonly bulk?: (path: string, report: FileReportBuilder) => Promise<boolean>;
}

const MiB = 1024 * 1024;

function jsonValueReader(
  detection: Detection,
  ctx: JsonContext,
): (value: unknown, raw: string, line: number) => void {
  return (value, raw, line) => {
    if (detection.format === 'json-logs') {
      if (!isObject(value)) return ctx.report.reject(line, 'not a JSON object', raw);
      const row = logFromObject(value, raw, line, ctx.zone);
      if (typeof row === 'string') return ctx.report.reject(line, row, raw);
      ctx.sink.log(row);
      return ctx.report.accept(row.timeMs, row.service);
    }
    if (detection.format === 'events') {
      if (!isObject(value)) return ctx.report.reject(line, 'not a JSON object', raw);
      const row = eventFromObject(value, raw, ctx.zone);
      if (typeof row === 'string') return ctx.report.reject(line, row, raw);
      ctx.sink.event(row);
      return ctx.report.accept(row.timeMs, row.service);
    }
    const kind = classifyJson(value);
    if (kind === 'zipkin-traces') return readZipkin(value, line, ctx);
    if (!isObject(value)) return ctx.report.reject(line, 'not a recognised JSON record', raw);
    switch (kind) {
      case 'otlp-traces':
        return readOtlpTraces(value, line, ctx);
      case 'otlp-logs':
        return readOtlpLogs(value, line, ctx);
      case 'prometheus-range':
        return readPrometheusSeries(value, line, ctx);
      case 'prometheus-response':
        return readPrometheusResponse(value, line, ctx);
      case 'jaeger-traces':
        return readJaeger(value, line, ctx);
      default:
        return ctx.report.reject(line, `not a ${detection.format} record`, raw);
    }
  };
}

function jsonLineHandler(detection: Detection, ctx: JsonContext): LineHandler {
  const onValue = jsonValueReader(detection, ctx);
  return {
    line(text, lineNo) {
      const first = text.charCodeAt(0);
      if (first !== 123 && first !== 91) {
        // `{` or `[`
        if (text.trim() === '') return;
        if (text.trimStart()[0] !== '{' && text.trimStart()[0] !== '[')
          return ctx.report.reject(lineNo, 'invalid JSON', text);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return ctx.report.reject(lineNo, 'invalid JSON', text);
      }
      onValue(value, text, lineNo);
    },
    end() {},
  };
}

/**
 * Reads one file into `sink`: detects its format from content, streams it (gzip transparently),
 * and returns its data-quality report. Never throws for bad content; only for I/O errors.
 * @example const report = await readTelemetryFile('logs.jsonl.gz', sink, { zone: UTC });
 */
export async function readTelemetryFile(
  path: string,
  sink: TelemetrySink,
  options: ReadFileOptions = {},
): Promise<FileReportBuilder> {
  const zone = options.zone ?? UTC;
  let detection = options.detection;
  let compressed = false;
  if (detection === undefined) {
    const { head, compressed: gz } = await readHead(path);
    compressed = gz;
    detection = detectFormat(head, basename(path), head.length < 64 * 1024);
  }
  const report = new FileReportBuilder(path, detection.format);
  report.compressed = compressed;
  if (detection.format === 'unknown') {
    report.skipped = detection.reason ?? 'format not recognised';
    return report;
  }
  const ctx = { sink, report, zone };
  const maxDocument = options.maxDocumentBytes ?? 512 * MiB;

  if (detection.layout === 'document') {
    const doc = await readDocument(path, maxDocument, options.signal);
    if ('tooLarge' in doc) {
      report.reject(0, `JSON document larger than ${maxDocument} bytes`, '');
      report.notes.push('write one export per line to read larger trace files');
      return report;
    }
    report.bytes = doc.bytes;
    report.compressed = doc.compressed;
    if (doc.gzipError !== undefined) report.gzipError = doc.gzipError;
    let value: unknown;
    try {
      value = JSON.parse(doc.text);
    } catch (e) {
      report.reject(
        0,
        'invalid JSON document',
        `${e instanceof Error ? e.message : String(e)}: ${doc.text.slice(0, 120)}`,
      );
      return report;
    }
    jsonValueReader(detection, ctx)(value, '', 0);
    return report;
  }

  if (detection.format === 'json-logs' && options.bulk !== undefined && (await options.bulk(path, report)))
    return report;

  const isLogLike = ['json-logs', 'text-logs', 'events', 'csv-metrics', 'prometheus-text'].includes(
    detection.format,
  );
  const maxLine = isLogLike ? (options.maxLineBytes ?? MiB) : maxDocument;
  let handler: LineHandler;
  switch (detection.format) {
    case 'text-logs':
      handler = textLogReader(ctx, options.year === undefined ? {} : { year: options.year });
      break;
    case 'prometheus-text':
      handler = prometheusTextReader(ctx);
      break;
    case 'csv-metrics':
      handler = csvMetricsReader(ctx);
      break;
    default:
      handler = jsonLineHandler(detection, ctx);
  }
  const stats = await readLines(
    path,
    {
      line: (text, lineNo) => handler.line(text, lineNo),
      oversize: (lineNo, bytes, head) =>
        report.reject(lineNo, `line longer than ${maxLine} bytes`, `${head} (${bytes} bytes)`),
    },
    { maxLineBytes: maxLine, ...(options.signal === undefined ? {} : { signal: options.signal }) },
  );
  handler.end();
  report.bytes = stats.bytes;
  report.compressed = stats.compressed;
  report.invalidUtf8Lines = stats.invalidUtf8Lines;
  if (stats.gzipError !== undefined) {
    report.gzipError = stats.gzipError;
    report.notes.push(`gzip stream ended early after ${stats.lines} lines: kept what was read`);
  }
  return report;
}
