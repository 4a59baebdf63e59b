import { performance } from 'node:perf_hooks';
import {
  attr,
  type Chunk,
  delay,
  type EndKind,
  PassStage,
  Queue,
  type StreamToxicKind,
  type ToxicAttributes,
} from './stage.js';

/**
 * `bandwidth`: delivers at most `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy counts). Chunks larger
 * than 100 ms worth of data are sliced into 100 ms pieces; each piece leaves once the time its size
 * costs at `rate` has passed. The schedule is kept in absolute time, so late timers do not slow the
 * stream down. `rate: 0` (or negative) stalls the stream.
 */
export class BandwidthStage extends PassStage {
  private readonly queue = new Queue<Chunk>();
  private pendingEnd: EndKind | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the previous piece was (virtually) done sending. */
  private free = 0;
  /** When the piece at the head of the queue may leave. */
  private due: number | undefined;

  /** @param rate bytes per millisecond */
  constructor(private readonly rate: number) {
    super();
  }

  override write(chunk: Chunk): void {
    if (this.detached) {
      this.next.write(chunk);
      return;
    }
    this.queue.push(chunk);
    if (this.timer === undefined && this.rate > 0) this.pump();
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
    for (let c = this.queue.shift(); c !== undefined; c = this.queue.shift()) this.next.write(c);
    this.flushEnd();
  }

  override dispose(): void {
    super.dispose();
    this.cancel();
    this.queue.clear();
  }

  private readonly pump = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const pieceMax = Math.max(1, Math.floor(this.rate * 100));
    for (let head = this.queue.peek(); head !== undefined; head = this.queue.peek()) {
      const size = Math.min(head.data.length, pieceMax);
      if (this.due === undefined) this.due = Math.max(this.free, now) + size / this.rate;
      if (this.due > now) {
        this.timer = delay(this.pump, Math.ceil(this.due - now));
        return;
      }
      this.free = this.due;
      this.due = undefined;
      if (size === head.data.length) {
        this.queue.shift();
        this.next.write(head);
      } else {
        // slice in place: the rest stays at the head of the queue
        const piece = head.data.subarray(0, size);
        head.data = head.data.subarray(size);
        this.next.write({ data: piece, time: head.time });
      }
      if (this.detached) return;
    }
    this.flushEnd();
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

export const bandwidthToxic: StreamToxicKind = {
  type: 'bandwidth',
  level: 'stream',
  attributes: ['rate'],
  create: (a: ToxicAttributes) => new BandwidthStage(attr(a, 'rate')),
};
