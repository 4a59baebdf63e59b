import {
  attr,
  type Chunk,
  delay,
  type EndKind,
  PassStage,
  type StageContext,
  type StreamToxicKind,
  type ToxicAttributes,
} from './stage.js';

/**
 * `timeout`: drops all data; after `timeout` ms (counted from when the stage starts) the connection
 * is closed; 0 means never. Removing the toxic closes the connections it applied to (as Toxiproxy).
 */
export class TimeoutStage extends PassStage {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    timeout: number,
    private readonly ctx: StageContext,
  ) {
    super();
    if (timeout > 0) this.timer = delay(() => this.close('close'), timeout);
  }

  override write(chunk: Chunk): void {
    if (this.detached) {
      this.next.write(chunk);
      return;
    }
    this.ctx.dropped(chunk.data.length);
  }

  override end(kind: EndKind): void {
    if (this.detached) {
      this.next.end(kind);
      return;
    }
    this.close(kind);
  }

  override detach(reason: 'removed' | 'replaced'): void {
    super.detach(reason);
    this.cancel();
    if (reason === 'removed') this.ctx.destroy();
  }

  override dispose(): void {
    super.dispose();
    this.cancel();
  }

  private close(kind: EndKind): void {
    this.cancel();
    if (this.closed) return;
    this.closed = true;
    this.next.end(kind);
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export const timeoutToxic: StreamToxicKind = {
  type: 'timeout',
  level: 'stream',
  attributes: ['timeout'],
  create: (a: ToxicAttributes, ctx: StageContext) => new TimeoutStage(attr(a, 'timeout'), ctx),
};
