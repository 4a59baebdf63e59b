import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { FileReport } from '../ingest/file-report.js';
import type { EventRow, LogRow, SeriesKey, SpanRow, TelemetrySink } from '../ingest/telemetry-rows.js';
import { createTemplateMiner, type TemplateMiner } from '../templates/template-miner.js';
import { StoreQueries } from './store-queries.js';
import {
  FILE_TABLES,
  instanceOfLabels,
  SCHEMA_SQL,
  SCHEMA_VERSION,
  seriesKeyText,
  serviceOfLabels,
} from './store-schema.js';

export interface OpenStoreOptions {
  /** A DuckDB file (created if missing; re-opening skips unchanged inputs) or `:memory:` (default). */
  readonly path?: string;
  /** DuckDB's memory limit, e.g. `1GB` (default); beyond it DuckDB spills to a temporary folder. */
  readonly memoryLimit?: string;
  /** DuckDB worker threads; defaults to DuckDB's choice (the number of cores). */
  readonly threads?: number;
}

/** A file already in the store, as the manifest (`files` table) records it. */
export interface StoredFile {
  readonly fileId: number;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly fingerprint: string;
  readonly format: string;
  readonly report: FileReport | null;
}

type Row = Record<string, unknown>;

export function num(row: Row, key: string): number {
  const v = row[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  return Number.NaN;
}

export function str(row: Row, key: string): string | null {
  const v = row[key];
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : String(v);
}

function appendText(appender: DuckDBAppender, value: string | null): void {
  if (value === null) appender.appendNull();
  else appender.appendVarchar(value);
}

const MINE_CHARS = 2048;

// Spill folders of stores still open when the process exits (a store not closed, a crash): removed then.
const openTempDirs = new Set<string>();
let exitHook = false;
function trackTempDir(dir: string): void {
  openTempDirs.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const d of openTempDirs) rmSync(d, { recursive: true, force: true });
  });
}

/**
 * The telemetry store: DuckDB, embedded. Readers write through {@link TelemetryStore.writer};
 * the analysis reads through the typed queries in store-queries.ts or {@link TelemetryStore.query}.
 */
export class TelemetryStore {
  private appenders:
    | {
        logs: DuckDBAppender;
        spans: DuckDBAppender;
        events: DuckDBAppender;
        samples: DuckDBAppender;
        series: DuckDBAppender;
      }
    | undefined;
  private readonly seriesIds = new Map<string, number>();
  private nextSeriesId = 1;
  private miner: TemplateMiner | undefined;
  private templatePrefix = '';
  private closed = false;
  /** The typed queries for the analysis. */
  readonly queries: StoreQueries = new StoreQueries(this);

  private constructor(
    private readonly instance: DuckDBInstance,
    /** The DuckDB connection, for queries the typed layer does not cover. */
    readonly connection: DuckDBConnection,
    /** The file path, or `:memory:`. */
    readonly path: string,
    private readonly tempDir: string,
  ) {}

  /**
   * Opens (or creates) a store.
   * @example const store = await TelemetryStore.open({ path: 'incident.duckdb' });
   */
  static async open(options: OpenStoreOptions = {}): Promise<TelemetryStore> {
    const path = options.path ?? ':memory:';
    const tempDir = mkdtempSync(join(tmpdir(), 'faultline-duckdb-'));
    trackTempDir(tempDir);
    const config: Record<string, string> = {
      memory_limit: options.memoryLimit ?? '1GB',
      temp_directory: tempDir,
      preserve_insertion_order: 'false',
    };
    if (options.threads !== undefined) config.threads = String(options.threads);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (e) {
      rmSync(tempDir, { recursive: true, force: true });
      openTempDirs.delete(tempDir);
      throw e;
    }
    const connection = await instance.connect();
    const store = new TelemetryStore(instance, connection, path, tempDir);
    await connection.run(SCHEMA_SQL);
    const version = await store.query(`SELECT value FROM meta WHERE key = 'schema_version'`);
    if (version.length === 0)
      await connection.run(`INSERT INTO meta VALUES ('schema_version', '${SCHEMA_VERSION}')`);
    const series = await store.query('SELECT series_id, name, labels FROM series');
    for (const row of series) {
      const id = num(row, 'series_id');
      const labels = JSON.parse(str(row, 'labels') ?? '{}') as Record<string, string>;
      store.seriesIds.set(seriesKeyText(str(row, 'name') ?? '', labels), id);
      if (id >= store.nextSeriesId) store.nextSeriesId = id + 1;
    }
    return store;
  }

  /** Runs SQL and returns plain JS rows (BIGINT as bigint, so cast counts to INTEGER/DOUBLE). */
  async query(sql: string, params?: Record<string, DuckDBValue>): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as Row[];
  }

  /** The manifest entry of `path`, if it was ingested before. */
  async storedFile(path: string): Promise<StoredFile | undefined> {
    const rows = await this.query('SELECT * FROM files WHERE path = $path', { path });
    const row = rows[0];
    if (row === undefined) return undefined;
    const report = str(row, 'report');
    return {
      fileId: num(row, 'file_id'),
      path,
      size: num(row, 'size'),
      mtimeMs: num(row, 'mtime_ms'),
      fingerprint: str(row, 'fingerprint') ?? '',
      format: str(row, 'format') ?? 'unknown',
      report: report === null ? null : (JSON.parse(report) as FileReport),
    };
  }

  /** Removes a file's rows and its manifest entry (before re-reading a changed file). */
  async forgetFile(fileId: number): Promise<void> {
    this.flush();
    for (const table of FILE_TABLES)
      await this.connection.run(`DELETE FROM ${table} WHERE file_id = ${fileId}`);
    await this.connection.run(`DELETE FROM files WHERE file_id = ${fileId}`);
  }

  /** A new file id (manifest row written by {@link recordFile}). */
  async allocateFileId(): Promise<number> {
    const rows = await this.query('SELECT coalesce(max(file_id), 0)::INTEGER AS id FROM files');
    const stored = num(rows[0] ?? {}, 'id');
    this.lastFileId = Math.max(this.lastFileId, Number.isFinite(stored) ? stored : 0) + 1;
    await this.connection.run(`INSERT INTO files(file_id, path) VALUES (${this.lastFileId}, NULL)`);
    return this.lastFileId;
  }
  private lastFileId = 0;

  /** Writes the manifest row of an ingested file. */
  async recordFile(
    fileId: number,
    entry: { path: string; size: number; mtimeMs: number; fingerprint: string; report: FileReport },
  ): Promise<void> {
    await this.connection.run(
      `UPDATE files SET path = $path, size = $size, mtime_ms = $mtime, fingerprint = $fp, format = $format,
        report = $report, ingested_at_ms = $now WHERE file_id = $id`,
      {
        path: entry.path,
        size: entry.size,
        mtime: entry.mtimeMs,
        fp: entry.fingerprint,
        format: entry.report.format,
        report: JSON.stringify(entry.report),
        now: Date.now(),
        id: fileId,
      },
    );
  }

  private async ensureAppenders(): Promise<NonNullable<TelemetryStore['appenders']>> {
    if (this.appenders === undefined) {
      this.appenders = {
        logs: await this.connection.createAppender('logs'),
        spans: await this.connection.createAppender('spans'),
        events: await this.connection.createAppender('events'),
        samples: await this.connection.createAppender('metric_samples'),
        series: await this.connection.createAppender('series'),
      };
    }
    return this.appenders;
  }

  private async ensureMiner(): Promise<TemplateMiner> {
    if (this.miner === undefined) {
      this.miner = createTemplateMiner();
      // Template ids restart with each miner: later sessions on the same store get a prefix.
      const rows = await this.query('SELECT count(*)::INTEGER AS n FROM templates');
      const sessions = await this.query(
        `SELECT count(*)::INTEGER AS n FROM meta WHERE key = 'template_session'`,
      );
      if (num(rows[0] ?? {}, 'n') > 0) this.templatePrefix = `s${num(sessions[0] ?? {}, 'n') + 1}.`;
      await this.connection.run(`INSERT INTO meta VALUES ('template_session', '${this.templatePrefix}')`);
    }
    return this.miner;
  }

  /** The template id of `message`, mined online. */
  mineTemplate(message: string): string {
    const miner = this.miner;
    if (miner === undefined) throw new Error('mineTemplate before writer()');
    return (
      this.templatePrefix +
      miner.mine(message.length > MINE_CHARS ? message.slice(0, MINE_CHARS) : message).templateId
    );
  }

  /** A sink writing `fileId`'s rows through DuckDB appenders (call {@link flush} when done). */
  async writer(fileId: number): Promise<TelemetrySink> {
    const ap = await this.ensureAppenders();
    await this.ensureMiner();
    const seriesIds = this.seriesIds;
    return {
      log: (row: LogRow) => {
        const a = ap.logs;
        a.appendDouble(row.timeMs);
        appendText(a, row.service);
        appendText(a, row.instance);
        appendText(a, row.level);
        a.appendVarchar(row.message);
        a.appendVarchar(this.mineTemplate(row.message));
        appendText(a, row.requestId);
        appendText(a, row.traceId);
        appendText(a, row.spanId);
        appendText(a, row.attrs);
        a.appendInteger(fileId);
        if (row.line === null) a.appendNull();
        else a.appendBigInt(BigInt(row.line));
        a.endRow();
      },
      span: (row: SpanRow) => {
        const a = ap.spans;
        a.appendVarchar(row.traceId);
        a.appendVarchar(row.spanId);
        appendText(a, row.parentSpanId);
        appendText(a, row.service);
        appendText(a, row.instance);
        a.appendVarchar(row.name);
        a.appendVarchar(row.kind);
        a.appendDouble(row.startMs);
        a.appendDouble(row.durationMs);
        a.appendVarchar(row.status);
        appendText(a, row.attrs);
        a.appendInteger(fileId);
        a.endRow();
      },
      event: (row: EventRow) => {
        const a = ap.events;
        a.appendDouble(row.timeMs);
        a.appendVarchar(row.kind);
        appendText(a, row.service);
        appendText(a, row.instance);
        a.appendVarchar(row.attrs);
        a.appendInteger(fileId);
        a.endRow();
      },
      series: (key: SeriesKey) => {
        const text = seriesKeyText(key.name, key.labels);
        let id = seriesIds.get(text);
        if (id === undefined) {
          id = this.nextSeriesId++;
          seriesIds.set(text, id);
          const a = ap.series;
          a.appendInteger(id);
          a.appendVarchar(key.name);
          appendText(a, serviceOfLabels(key.labels));
          appendText(a, instanceOfLabels(key.labels));
          a.appendVarchar(JSON.stringify(key.labels));
          a.endRow();
        }
        return id;
      },
      sample: (seriesId: number, timeMs: number, value: number) => {
        const a = ap.samples;
        a.appendInteger(seriesId);
        a.appendDouble(timeMs);
        a.appendDouble(value);
        a.appendInteger(fileId);
        a.endRow();
      },
    };
  }

  /** Makes appended rows visible to queries. */
  flush(): void {
    if (this.appenders === undefined) return;
    for (const a of Object.values(this.appenders)) a.flushSync();
  }

  /** Ends an ingestion session: flushes rows and writes the mined templates. */
  async finishIngest(): Promise<void> {
    if (this.appenders !== undefined) {
      for (const a of Object.values(this.appenders)) {
        a.flushSync();
        a.closeSync();
      }
      this.appenders = undefined;
    }
    const miner = this.miner;
    if (miner === undefined) return;
    this.miner = undefined;
    const templates = miner.templates();
    if (templates.length === 0) return;
    const prefix = this.templatePrefix;
    await this.connection.run(`DELETE FROM templates WHERE starts_with(template_id, $p) AND $p <> ''`, {
      p: prefix,
    });
    const a = await this.connection.createAppender('templates');
    for (const t of templates) {
      a.appendVarchar(prefix + t.templateId);
      a.appendVarchar(t.template);
      a.appendBigInt(BigInt(t.count));
      a.endRow();
    }
    a.flushSync();
    a.closeSync();
  }

  /** A template id for a bulk-loaded message (same miner as the row-by-row path). */
  async bulkMiner(): Promise<(message: string) => string> {
    await this.ensureMiner();
    return (message) => this.mineTemplate(message);
  }

  /** The folder DuckDB spills to; bulk loaders may put temporary files there too. */
  get scratchDir(): string {
    return this.tempDir;
  }

  /** Flushes, checkpoints (file stores) and closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.finishIngest();
      if (this.path !== ':memory:') await this.connection.run('CHECKPOINT');
    } finally {
      this.connection.closeSync();
      this.instance.closeSync();
      rmSync(this.tempDir, { recursive: true, force: true });
      openTempDirs.delete(this.tempDir);
    }
  }
}
