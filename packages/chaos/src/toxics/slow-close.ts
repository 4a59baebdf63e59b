import { attr, delay, type EndKind, PassStage, type StreamToxicKind, type ToxicAttributes } from './stage.js';

/** `slow_close`: data flows; the end of the stream is passed on `delay` ms late. */
export class SlowCloseStage extends PassStage {
  private timer: NodeJS.Timeout | undefined;
  private pendingEnd: EndKind | undefined;

  constructor(private readonly wait: number) {
    super();
  }

  override end(kind: EndKind): void {
    if (this.detached || this.wait <= 0) {
      this.next.end(kind);
      return;
    }
    if (this.pendingEnd !== undefined) return;
    this.pendingEnd = kind;
    this.timer = delay(this.flush, this.wait);
  }

  override detach(reason: 'removed' | 'replaced'): void {
    super.detach(reason);
    this.flush();
  }

  override dispose(): void {
    super.dispose();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.pendingEnd = undefined;
  }

  private readonly flush = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const kind = this.pendingEnd;
    this.pendingEnd = undefined;
    if (kind !== undefined) this.next.end(kind);
  };
}

export const slowCloseToxic: StreamToxicKind = {
  type: 'slow_close',
  level: 'stream',
  attributes: ['delay'],
  create: (a: ToxicAttributes) => new SlowCloseStage(attr(a, 'delay')),
};
