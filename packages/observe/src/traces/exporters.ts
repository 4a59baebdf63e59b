import { appendFile, mkdir } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, suppressTracing } from '@opentelemetry/core';
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

  /**
   * Sends one OTLP/JSON document of `spanCount` spans; counts what became of them. Never rejects.
   */
  exportJson(body: string, spanCount: number): Promise<void> {
    if (this.closed) {
      this.dropped += spanCount;
      return Promise.resolve();
    }
    const p = this.send(body).then(
      () => {
        this.exported += spanCount;
      },
      () => {
        this.failed++;
        this.dropped += spanCount;
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Counts spans dropped before they reached the exporter (a full queue). */
  countDropped(spanCount: number): void {
    this.dropped += spanCount;
  }

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

/**
 * POSTs OTLP/JSON to a collector over keep-alive connections (node:http, not `fetch`: a batch
 * costs a fraction of what undici's body and request handling cost); a refused, failed or
 * timed-out POST is counted and dropped.
 */
export class OtlpHttpSpanExporter extends CountingExporter {
  readonly url: string;
  private readonly target: URL;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly agent: HttpAgent;

  constructor(options: OtlpHttpExporterOptions) {
    super();
    const url = new URL(options.url);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
    this.url = url.toString();
    this.target = url;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.headers = { ...options.headers, 'content-type': 'application/json' };
    this.agent =
      url.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, maxSockets: 2 })
        : new HttpAgent({ keepAlive: true, maxSockets: 2 });
  }

  protected send(body: string): Promise<void> {
    // outside any request's context, and never traced itself (an http instrumentation may be loaded)
    return context.with(suppressTracing(ROOT_CONTEXT), () => this.post(body));
  }

  private post(body: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const request = this.target.protocol === 'https:' ? httpsRequest : httpRequest;
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      const req = request(
        this.target,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...this.headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          // drain the body so the socket is reused
          res.resume();
          res.once('end', () =>
            settle(status >= 200 && status < 300 ? undefined : new Error(`collector answered ${status}`)),
          );
          res.once('error', (e) => settle(e));
        },
      );
      const timer = setTimeout(() => {
        const error = new Error(`collector did not answer within ${this.timeoutMs} ms`);
        req.destroy(error);
        settle(error);
      }, this.timeoutMs);
      req.once('error', (e) => settle(e));
      req.end(body);
    });
  }

  override async shutdown(): Promise<void> {
    await super.shutdown();
    this.agent.destroy();
  }
}
