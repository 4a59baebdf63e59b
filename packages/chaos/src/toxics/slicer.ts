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

/**
 * `slicer`: splits each chunk into pieces of about `average_size` ± `size_variation` bytes, sent
 * `delay` µs apart (timers have 1 ms granularity: any delay above 0 waits at least 1 ms; 0 writes the
 * pieces back to back as separate socket writes).
 */
export class SlicerStage extends PassStage {
  private readonly queue = new Queue<Chunk>();
  private pendingEnd: EndKind | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly average: number,
    private readonly variation: number,
    private readonly delayUs: number,
    private readonly ctx: StageContext,
  ) {
    super();
  }

  override write(chunk: Chunk): void {
    if (this.detached) {
      this.next.write(chunk);
      return;
    }
    const cuts: number[] = [];
    this.cut(0, chunk.data.length, cuts, 0);
    let start = 0;
    for (const end of cuts) {
      const piece = { data: chunk.data.subarray(start, end), time: chunk.time };
      start = end;
      if (this.delayUs <= 0) this.next.write(piece);
      else this.queue.push(piece);
    }
    if (this.delayUs > 0 && this.timer === undefined) this.release();
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

  /** Toxiproxy's recursive halving, with the size variation applied to each cut, and no empty piece. */
  private cut(start: number, end: number, out: number[], depth: number): void {
    const size = end - start;
    if (size - this.average <= this.variation || size <= 1 || depth > 40) {
      if (size > 0) out.push(end);
      return;
    }
    let mid = start + Math.floor(size / 2);
    if (this.variation > 0) {
      mid += Math.floor(this.ctx.random() * this.variation * 2) - this.variation;
      mid = Math.min(end - 1, Math.max(start + 1, mid));
    }
    this.cut(start, mid, out, depth + 1);
    this.cut(mid, end, out, depth + 1);
  }

  private readonly release = (): void => {
    this.timer = undefined;
    const piece = this.queue.shift();
    if (piece === undefined) {
      this.flushEnd();
      return;
    }
    this.next.write(piece);
    if (!this.detached) this.timer = delay(this.release, this.delayUs / 1000);
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

export const slicerToxic: StreamToxicKind = {
  type: 'slicer',
  level: 'stream',
  attributes: ['average_size', 'size_variation', 'delay'],
  create: (a: ToxicAttributes, ctx: StageContext) =>
    new SlicerStage(attr(a, 'average_size'), attr(a, 'size_variation'), attr(a, 'delay'), ctx),
};
