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
 * `reset_peer`: on the first data (dropped) or end of stream, waits `timeout` ms, then closes both
 * sockets with a real TCP RST (`socket.resetAndDestroy()`), so that peers see ECONNRESET.
 */
export class ResetPeerStage extends PassStage {
  private timer: NodeJS.Timeout | undefined;
  private triggered = false;

  constructor(
    private readonly timeout: number,
    private readonly ctx: StageContext,
  ) {
    super();
  }

  override write(chunk: Chunk): void {
    if (this.detached) {
      this.next.write(chunk);
      return;
    }
    this.ctx.dropped(chunk.data.length);
    this.trigger();
  }

  override end(kind: EndKind): void {
    if (this.detached) {
      this.next.end(kind);
      return;
    }
    this.trigger();
  }

  override detach(reason: 'removed' | 'replaced'): void {
    super.detach(reason);
    this.cancel();
  }

  override dispose(): void {
    super.dispose();
    this.cancel();
  }

  private trigger(): void {
    if (this.triggered) return;
    this.triggered = true;
    if (this.timeout <= 0) this.ctx.reset();
    else this.timer = delay(() => this.ctx.reset(), this.timeout);
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export const resetPeerToxic: StreamToxicKind = {
  type: 'reset_peer',
  level: 'stream',
  attributes: ['timeout'],
  create: (a: ToxicAttributes, ctx: StageContext) => new ResetPeerStage(attr(a, 'timeout'), ctx),
};
