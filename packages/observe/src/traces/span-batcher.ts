import type { EndedSpan } from './lean-tracer.js';

/** Queue and batch sizes of the span exporter, as the OpenTelemetry SDK names them. */
export interface TraceBatchOptions {
  /** Spans queued at most; further ones are dropped and counted. Default 2048. */
  readonly maxQueueSize?: number;
  /** Spans per export; a full batch is exported at once. Default 512. */
  readonly maxExportBatchSize?: number;
  /** Longest a span waits before it is exported; default 1000 ms. */
  readonly scheduledDelayMillis?: number;
}

/** Where batches go: sends one document, settles when done, never rejects. */
export interface BatchTarget {
  exportJson(body: string, spanCount: number): Promise<void>;
  countDropped(spanCount: number): void;
}

/**
 * Batches ended spans for one exporter: a batch goes when it is full or the oldest span waited
 * `scheduledDelayMillis`, one export at a time; when the queue is full (the collector is slow or
 * gone) new spans are dropped and counted rather than held.
 * @example const batcher = new SpanBatcher(exporter, otlpJsonWriter(resource)); provider = new LeanTracerProvider((s) => batcher.add(s));
 */
export class SpanBatcher {
  private queue: EndedSpan[] = [];
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly delay: number;
  private timer: NodeJS.Timeout | undefined;
  private exporting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly target: BatchTarget,
    private readonly serialise: (spans: readonly EndedSpan[]) => string,
    options: TraceBatchOptions = {},
  ) {
    this.maxQueue = Math.max(1, options.maxQueueSize ?? 2048);
    this.batchSize = Math.max(1, Math.min(options.maxExportBatchSize ?? 512, this.maxQueue));
    this.delay = options.scheduledDelayMillis ?? 1000;
  }

  /** Queues an ended span (the tracer's sink). */
  add(span: EndedSpan): void {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.target.countDropped(1);
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.batchSize) {
      if (this.exporting === undefined) this.exportNext();
    } else if (this.timer === undefined && this.exporting === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.exporting === undefined) this.exportNext();
      }, this.delay);
      this.timer.unref();
    }
  }

  /** Spans waiting for export. */
  get queued(): number {
    return this.queue.length;
  }

  /** Exports everything queued (one batch after another); resolves when done. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.exporting !== undefined) await this.exporting;
      else if (this.queue.length > 0) this.exportNext();
      else return;
    }
  }

  /** Flushes, then drops (and counts) whatever is ended afterwards. */
  async shutdown(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private exportNext(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.queue.length <= this.batchSize ? this.queue : this.queue.slice(0, this.batchSize);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.batchSize);
    if (batch.length === 0) return;
    let body: string;
    try {
      body = this.serialise(batch);
    } catch {
      this.target.countDropped(batch.length);
      return;
    }
    this.exporting = this.target.exportJson(body, batch.length).then(() => {
      this.exporting = undefined;
      if (this.closed) return;
      if (this.queue.length >= this.batchSize) this.exportNext();
      else if (this.queue.length > 0 && this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (this.exporting === undefined) this.exportNext();
        }, this.delay);
        this.timer.unref();
      }
    });
  }
}
