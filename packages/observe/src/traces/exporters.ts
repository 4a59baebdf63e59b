import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { toOtlpJson } from './otlp-json.js';

/** What an exporter did with the spans it was given. */
export interface TraceExportStats {
  /** Spans written or accepted by the collector. */
  readonly exportedSpans: number;
  /** Spans dropped because a write or a POST failed. */
  readonly droppedSpans: number;
  /** Failed writes or POSTs (each drops one batch). */
  readonly failures: number;
}

abstract class CountingExporter implements SpanExporter {
  protected exported = 0;
  protected dropped = 0;
  protected failed = 0;
  protected closed = false;
  private pending = new Set<Promise<void>>();

  stats(): TraceExportStats {
    return { exportedSpans: this.exported, droppedSpans: this.dropped, failures: this.failed };
  }

  protected abstract send(body: string): Promise<void>;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.closed || spans.length === 0) {
      this.dropped += this.closed ? spans.length : 0;
      resultCallback({ code: this.closed ? ExportResultCode.FAILED : ExportResultCode.SUCCESS });
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(toOtlpJson(spans));
    } catch (e) {
      this.failed++;
      this.dropped += spans.length;
      resultCallback({ code: ExportResultCode.FAILED, error: e as Error });
      return;
    }
    const p = this.send(body).then(
      () => {
        this.exported += spans.length;
        resultCallback({ code: ExportResultCode.SUCCESS });
      },
      (e: unknown) => {
        this.failed++;
        this.dropped += spans.length;
        resultCallback({
          code: ExportResultCode.FAILED,
          error: e instanceof Error ? e : new Error(String(e)),
        });
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.closed = true;
  }
}

/**
 * Appends one OTLP/JSON line (`{"resourceSpans":[…]}`) per batch to `path`, as the Collector's
 * file exporter does. Writes are asynchronous and serialised; a failed write (full disk, missing
 * permissions) is counted and its batch dropped, never thrown.
 */
export class FileSpanExporter extends CountingExporter {
  private chain: Promise<unknown> = Promise.resolve();
  private dirReady: Promise<unknown> | undefined;

  constructor(readonly path: string) {
    super();
  }

  protected send(body: string): Promise<void> {
    this.dirReady ??= mkdir(dirname(this.path), { recursive: true }).catch(() => undefined);
    const dirReady = this.dirReady;
    const write = this.chain
      .then(
        () => dirReady,
        () => dirReady,
      )
      .then(() => appendFile(this.path, `${body}\n`));
    this.chain = write.catch(() => undefined);
    return write;
  }
}

export interface OtlpHttpExporterOptions {
  /** The collector's traces endpoint; a URL without a path gets `/v1/traces`. */
  readonly url: string;
  /** Per POST; default 2000 ms. */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** POSTs OTLP/JSON to a collector; a refused, failed or timed-out POST is counted and dropped. */
export class OtlpHttpSpanExporter extends CountingExporter {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: OtlpHttpExporterOptions) {
    super();
    const url = new URL(options.url);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
    this.url = url.toString();
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.headers = { ...options.headers, 'content-type': 'application/json' };
  }

  protected async send(body: string): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: this.headers,
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // drain the body so the socket is reused
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`collector answered ${res.status}`);
  }
}
