import {
  attr,
  type Chunk,
  type EndKind,
  PassStage,
  type StageContext,
  type StreamToxicKind,
  type ToxicAttributes,
  type ToxicStage,
} from './stage.js';

/**
 * `limit_data`: passes `bytes` bytes on the stream (the chunk crossing the limit is cut), then closes
 * the connection. An update keeps the count of bytes already passed.
 */
export class LimitDataStage extends PassStage {
  /** Bytes passed so far. */
  passed = 0;
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly ctx: StageContext,
  ) {
    super();
  }

  override write(chunk: Chunk): void {
    if (this.detached) {
      this.next.write(chunk);
      return;
    }
    if (this.closed) {
      this.ctx.dropped(chunk.data.length);
      return;
    }
    const room = this.limit - this.passed;
    if (chunk.data.length <= room) {
      this.passed += chunk.data.length;
      this.next.write(chunk);
    } else {
      this.ctx.dropped(chunk.data.length - Math.max(0, room));
      if (room > 0) {
        this.passed += room;
        this.next.write({ data: chunk.data.subarray(0, room), time: chunk.time });
      }
    }
    if (this.passed >= this.limit && !this.detached) {
      this.closed = true;
      this.next.end('close');
    }
  }

  override end(kind: EndKind): void {
    if (this.closed && !this.detached) return;
    this.closed = true;
    this.next.end(kind);
  }
}

export const limitDataToxic: StreamToxicKind = {
  type: 'limit_data',
  level: 'stream',
  attributes: ['bytes'],
  create: (a: ToxicAttributes, ctx: StageContext, previous?: ToxicStage) => {
    const stage = new LimitDataStage(attr(a, 'bytes'), ctx);
    if (previous instanceof LimitDataStage) stage.passed = previous.passed;
    return stage;
  },
};
