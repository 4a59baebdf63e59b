/** What a reader found in one file (or live source): the data-quality report's row. */
export interface FileReport {
  readonly path: string;
  /** Detected format, e.g. `json-logs`, `otlp-traces`, `prometheus-range`; `unknown` when none fits. */
  readonly format: string;
  readonly compressed: boolean;
  /** Bytes read (decompressed). */
  readonly bytes: number;
  /** Records stored: log lines, samples, spans or events. */
  readonly records: number;
  readonly rejected: number;
  /** Rejected records per reason. */
  readonly rejectReasons: Readonly<Record<string, number>>;
  /** The first few rejected records, escaped (JSON string syntax) and truncated. */
  readonly samples: readonly RejectSample[];
  /** Time range of the stored records, epoch ms. */
  readonly timeRange: { readonly fromMs: number; readonly toMs: number } | null;
  /** Services seen in the file. */
  readonly services: readonly string[];
  /** A gzip stream that ended early (truncated or corrupt): what was read before it is kept. */
  readonly gzipError: string | null;
  readonly invalidUtf8Lines: number;
  /** Why the file was not read at all (`unchanged since last ingest`, `format not recognised`…). */
  readonly skipped: string | null;
  readonly notes: readonly string[];
  readonly durationMs: number;
}

export interface RejectSample {
  /** 1-based line (0 for a whole-document problem). */
  readonly line: number;
  readonly reason: string;
  /** The offending text, escaped as a JSON string literal and cut to about 200 characters. */
  readonly text: string;
}

const MAX_SAMPLES = 5;
const SAMPLE_CHARS = 200;

/** The offending text as a JSON string literal, cut to `max` characters: safe to print anywhere. */
export function escapeSample(text: string, max = SAMPLE_CHARS): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // JSON.stringify leaves U+2028/2029 and lone surrogates printable; escape them too.
  return JSON.stringify(cut).replace(
    /[\u2028\u2029\ud800-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

/** Accumulates one file's report as records are accepted or rejected. */
export class FileReportBuilder {
  records = 0;
  rejected = 0;
  bytes = 0;
  compressed = false;
  gzipError: string | null = null;
  invalidUtf8Lines = 0;
  skipped: string | null = null;
  fromMs = Number.POSITIVE_INFINITY;
  toMs = Number.NEGATIVE_INFINITY;
  readonly reasons = new Map<string, number>();
  readonly samples: RejectSample[] = [];
  readonly services = new Set<string>();
  readonly notes: string[] = [];
  private readonly started = performance.now();

  constructor(
    readonly path: string,
    public format: string,
  ) {}

  /** A stored record at `timeMs`. */
  accept(timeMs: number, service: string | null): void {
    this.records++;
    if (timeMs < this.fromMs) this.fromMs = timeMs;
    if (timeMs > this.toMs) this.toMs = timeMs;
    if (service !== null && this.services.size < 10_000) this.services.add(service);
  }

  /** A record left out, with the reason (a short stable phrase) and the offending text. */
  reject(line: number, reason: string, text: string, count = 1): void {
    this.rejected += count;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + count);
    if (this.samples.length < MAX_SAMPLES) this.samples.push({ line, reason, text: escapeSample(text) });
  }

  build(): FileReport {
    const hasRange = this.records > 0 && Number.isFinite(this.fromMs);
    return {
      path: this.path,
      format: this.format,
      compressed: this.compressed,
      bytes: this.bytes,
      records: this.records,
      rejected: this.rejected,
      rejectReasons: Object.fromEntries(this.reasons),
      samples: this.samples,
      timeRange: hasRange ? { fromMs: this.fromMs, toMs: this.toMs } : null,
      services: [...this.services].sort(),
      gzipError: this.gzipError,
      invalidUtf8Lines: this.invalidUtf8Lines,
      skipped: this.skipped,
      notes: this.notes,
      durationMs: Math.round(performance.now() - this.started),
    };
  }
}
