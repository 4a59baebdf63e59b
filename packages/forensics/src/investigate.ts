import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ForensicsError, ForensicsErrorCode } from './errors.js';
import { bulkLoadJsonLogs } from './ingest/bulk-json-logs.js';
import type { FileReport, FileReportBuilder } from './ingest/file-report.js';
import { fileNamedServiceNote, serviceOfFile } from './ingest/file-service.js';
import { readTelemetryFile } from './ingest/read-file.js';
import {
  type PrometheusPullOptions,
  prometheusSourceName,
  pullPrometheus,
} from './live/prometheus-source.js';
import { type ClockSuspicion, findClockSuspicions } from './quality/clock-offsets.js';
import { rangeOf, servicesOf, type TimeRange } from './store/store-queries.js';
import { TelemetryStore } from './store/telemetry-store.js';
import { parseTimeZone, type TimeZone, UTC } from './time/time-zone.js';

export interface InvestigateOptions {
  /** DuckDB file for the store (re-opening it skips unchanged files); in memory by default. */
  readonly store?: string;
  /** Zone for times written without one, e.g. `Asia/Shanghai` or `+08:00`; UTC by default. */
  readonly tz?: string;
  /** Year for text timestamps that omit it (syslog); the current year by default. */
  readonly year?: number;
  /** Pull a window of metrics from a Prometheus-compatible API too. */
  readonly prometheus?: PrometheusPullOptions;
  /** JSON-lines log files at least this large go through DuckDB's reader; default 64 MiB. */
  readonly bulkMinBytes?: number;
  /** Longest accepted log line; default 1 MiB. */
  readonly maxLineBytes?: number;
  /** DuckDB memory limit; default `1GB`. */
  readonly memoryLimit?: string;
  /** Called after each file with its report (progress). */
  readonly onFile?: (report: FileReport) => void;
  readonly signal?: AbortSignal;
}

/** The data-quality report of one ingestion. */
export interface IngestReport {
  readonly files: readonly FileReport[];
  readonly totals: {
    readonly files: number;
    readonly unchanged: number;
    readonly records: number;
    readonly rejected: number;
    readonly logs: number;
    readonly templates: number;
    readonly series: number;
    readonly samples: number;
    readonly spans: number;
    readonly events: number;
  };
  readonly timeRange: TimeRange | null;
  readonly services: readonly string[];
  readonly clockSuspicions: readonly ClockSuspicion[];
  /** The store's file, or `:memory:`. */
  readonly store: string;
  readonly durationMs: number;
}

export interface Investigation {
  readonly store: TelemetryStore;
  readonly report: IngestReport;
}

const IGNORED = /\.(duckdb|duckdb\.wal|wal|tmp)$/i;

/** Every regular file under `paths` (folders walked recursively, symlinked folders not followed), sorted. */
export async function listInputFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && !IGNORED.test(e.name)) out.push(p);
    }
  };
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new ForensicsError(ForensicsErrorCode.PathNotFound, `${path}: no such file or folder`);
    }
    if (info.isDirectory()) await walk(resolve(path));
    else out.push(resolve(path));
  }
  return [...new Set(out)];
}

/** Size, mtime and a hash of the first and last 64 KiB: enough to tell a file changed. */
async function fingerprint(path: string): Promise<{ size: number; mtimeMs: number; hash: string }> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    const hash = createHash('sha1');
    const chunk = Buffer.alloc(64 * 1024);
    const a = await handle.read(chunk, 0, chunk.length, 0);
    hash.update(chunk.subarray(0, a.bytesRead));
    if (info.size > chunk.length) {
      const b = await handle.read(chunk, 0, chunk.length, Math.max(0, info.size - chunk.length));
      hash.update(chunk.subarray(0, b.bytesRead));
    }
    return { size: info.size, mtimeMs: info.mtimeMs, hash: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/** Parses a `--tz` value, failing with a clear error. */
export function timeZoneOption(tz: string | undefined): TimeZone {
  if (tz === undefined) return UTC;
  const zone = parseTimeZone(tz);
  if (zone === undefined)
    throw new ForensicsError(
      ForensicsErrorCode.InvalidOption,
      `--tz ${JSON.stringify(tz)}: not a time zone (use UTC, +08:00 or an IANA name like Asia/Shanghai)`,
    );
  return zone;
}

const LOG_FORMATS = new Set(['json-logs', 'text-logs']);
/**
 * A log file none of whose records names a service (a plain text log, a pino log without a
 * `service` field) is one service's log: the file's name becomes that service, so that its lines
 * count in the analysis, which groups everything by service. Said in the file's report.
 */
async function nameUnnamedLogs(
  store: TelemetryStore,
  fileId: number,
  path: string,
  report: FileReportBuilder,
): Promise<void> {
  if (!LOG_FORMATS.has(report.format) || report.records === 0 || report.services.size > 0) return;
  const service = serviceOfFile(path);
  await store.query(`UPDATE logs SET service = $service WHERE file_id = ${fileId} AND service IS NULL`, {
    service,
  });
  report.services.add(service);
  report.notes.push(fileNamedServiceNote(service));
}

async function count(store: TelemetryStore, sql: string): Promise<number> {
  const rows = await store.query(`SELECT (${sql})::DOUBLE AS n`);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Reads every file under `paths` (and, optionally, a Prometheus window) into a store and returns
 * it with the data-quality report. The analysis runs on the returned store.
 * @example const { store, report } = await investigate(['incident/'], { tz: 'Asia/Shanghai' });
 */
export async function investigate(
  paths: readonly string[],
  options: InvestigateOptions = {},
): Promise<Investigation> {
  const started = performance.now();
  const zone = timeZoneOption(options.tz);
  const files = await listInputFiles(paths);
  const store = await TelemetryStore.open({
    ...(options.store === undefined ? {} : { path: options.store }),
    ...(options.memoryLimit === undefined ? {} : { memoryLimit: options.memoryLimit }),
  });
  try {
    const reports: FileReport[] = [];
    let unchanged = 0;
    const bulkMin = options.bulkMinBytes ?? 64 * 1024 * 1024;
    for (const path of files) {
      options.signal?.throwIfAborted();
      const fp = await fingerprint(path);
      const stored = await store.storedFile(path);
      if (stored !== undefined) {
        if (
          stored.size === fp.size &&
          stored.mtimeMs === fp.mtimeMs &&
          stored.fingerprint === fp.hash &&
          stored.report !== null
        ) {
          unchanged++;
          const report = {
            ...stored.report,
            skipped: 'unchanged since the last ingest (kept from the store)',
          };
          reports.push(report);
          options.onFile?.(report);
          continue;
        }
        await store.forgetFile(stored.fileId);
      }
      const fileId = await store.allocateFileId();
      const sink = await store.writer(fileId);
      const builder = await readTelemetryFile(path, sink, {
        zone,
        ...(options.year === undefined ? {} : { year: options.year }),
        ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        bulk: async (p, report) => {
          if (fp.size < bulkMin) return false;
          store.flush();
          return bulkLoadJsonLogs(store, p, fileId, report, { zone, fallbackService: serviceOfFile(path) });
        },
      });
      store.flush();
      await nameUnnamedLogs(store, fileId, path, builder);
      const report = builder.build();
      await store.recordFile(fileId, {
        path,
        size: fp.size,
        mtimeMs: fp.mtimeMs,
        fingerprint: fp.hash,
        report,
      });
      reports.push(report);
      options.onFile?.(report);
    }
    if (options.prometheus !== undefined) {
      const name = prometheusSourceName(options.prometheus);
      const stored = await store.storedFile(name);
      if (stored !== undefined) await store.forgetFile(stored.fileId);
      const fileId = await store.allocateFileId();
      const builder = await pullPrometheus(options.prometheus, await store.writer(fileId));
      store.flush();
      const report = builder.build();
      await store.recordFile(fileId, { path: name, size: 0, mtimeMs: Date.now(), fingerprint: '', report });
      reports.push(report);
      options.onFile?.(report);
    }
    await store.finishIngest();
    const ranges = await store.queries.signalRanges();
    const report: IngestReport = {
      files: reports,
      totals: {
        files: reports.length,
        unchanged,
        records: reports.reduce((a, r) => a + (r.skipped === null ? r.records : 0), 0),
        rejected: reports.reduce((a, r) => a + (r.skipped === null ? r.rejected : 0), 0),
        logs: await count(store, 'SELECT count(*) FROM logs'),
        templates: await count(store, 'SELECT count(*) FROM templates'),
        series: await count(store, 'SELECT count(*) FROM series'),
        samples: await count(store, 'SELECT count(*) FROM metric_samples'),
        spans: await count(store, 'SELECT count(*) FROM spans'),
        events: await count(store, 'SELECT count(*) FROM events'),
      },
      timeRange: rangeOf(ranges) ?? null,
      services: servicesOf(ranges, await store.queries.seriesPerService()).map((s) => s.service),
      clockSuspicions: await findClockSuspicions(store, ranges),
      store: store.path,
      durationMs: Math.round(performance.now() - started),
    };
    return { store, report };
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
}
