import { performance } from 'node:perf_hooks';
import {
  attr,
  type Chunk,
  delay,
  type EndKind,
  PassStage,
  Queue,
  type StageContext,
  type StreamToxicKind,
  type ToxicAttributes,
} from './stage.js';

interface Delayed {
  readonly chunk: Chunk;
  readonly due: number;
}

/**
 * `latency`: each chunk leaves at its arrival time + `latency` ± uniform `jitter` (ms). Chunks keep
 * their order, and a burst's delays overlap instead of adding up. A chunk already due leaves at once,
 * without a timer round (so `latency: 0` costs nothing).
 */
export class LatencyStage extends PassStage {
  private readonly queue = new Queue<Delayed>();
  private pendingEnd: EndKind | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;

  constructor(
    private readonly latency: number,
    private readonly jitter: number,
    private readonly ctx: StageContext,
  ) {
    super();
  }

  override write(chunk: Chunk): void {
    if (this.detached) {
      this.next.write(chunk);
      return;
    }
    let wait = this.latency;
    if (this.jitter > 0) wait += (this.ctx.random() * 2 - 1) * this.jitter;
    const due = Math.max(chunk.time + wait, this.lastDue);
    this.lastDue = due;
    if (this.queue.length === 0 && due <= performance.now()) {
      this.next.write(chunk);
      return;
    }
    this.queue.push({ chunk, due });
    if (this.timer === undefined) this.schedule();
  }

  override end(kind: EndKind): void {
    if (this.detached || this.queue.length === 0) {
      this.next.end(kind);
      return;
    }
    this.pendingEnd = kind;
  }

  override detach(reason: 'removed' | 'replaced'): void {
    super.detach(reason);
    this.cancel();
    for (let d = this.queue.shift(); d !== undefined; d = this.queue.shift()) this.next.write(d.chunk);
    this.flushEnd();
  }

  override dispose(): void {
    super.dispose();
    this.cancel();
    this.queue.clear();
  }

  private schedule(): void {
    const head = this.queue.peek();
    if (head === undefined) return;
    // timers have 1 ms granularity: round up so that a chunk never leaves early
    this.timer = delay(this.release, Math.ceil(head.due - performance.now()));
  }

  private readonly release = (): void => {
    this.timer = undefined;
    const now = performance.now();
    for (let head = this.queue.peek(); head !== undefined && head.due <= now; head = this.queue.peek()) {
      this.queue.shift();
      this.next.write(head.chunk);
      if (this.detached) return;
    }
    if (this.queue.length > 0) this.schedule();
    else this.flushEnd();
  };

  private flushEnd(): void {
    const kind = this.pendingEnd;
    if (kind === undefined) return;
    this.pendingEnd = undefined;
    this.next.end(kind);
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export const latencyToxic: StreamToxicKind = {
  type: 'latency',
  level: 'stream',
  attributes: ['latency', 'jitter'],
  create: (a: ToxicAttributes, ctx: StageContext) =>
    new LatencyStage(attr(a, 'latency'), attr(a, 'jitter'), ctx),
};
