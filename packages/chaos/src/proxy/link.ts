import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Chunk, EndKind, Sink, StageContext, StreamToxicKind, ToxicStage } from '../toxics/stage.js';
import type { ByteCounters, ToxicState } from './model.js';

/** Bytes a toxic chain may hold before the source socket is paused. */
const CHAIN_HIGH_WATER = 1 << 20;

/** What a link needs from its connection. */
export interface LinkOwner {
  readonly random: () => number;
  reset(): void;
  destroy(): void;
  /** A toxic ended the stream with `close`: shut the whole connection after flushing. */
  close(): void;
}

interface Entry {
  readonly toxic: ToxicState;
  stage: ToxicStage | undefined;
}

/**
 * One direction of a connection: reads `src`, runs the chunks through the toxics that applied to this
 * connection, writes `dst`. With no toxic stage, data goes socket to socket with backpressure and no
 * per-chunk allocation or timer. The link is itself the chain's last sink.
 */
export class Link implements Sink {
  private entries: Entry[] = [];
  private head: Sink | undefined;
  private inflight = 0;
  private blocked = false;
  private paused = false;
  private ended = false;
  private readonly ctx: StageContext;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly counters: ByteCounters,
    private readonly owner: LinkOwner,
  ) {
    this.ctx = {
      random: owner.random,
      dropped: (n) => {
        this.inflight -= n;
        this.flow();
      },
      reset: () => owner.reset(),
      destroy: () => owner.destroy(),
    };
  }

  /** Starts reading; `toxics` are this direction's toxics in order, with whether each applied. */
  start(toxics: readonly (readonly [ToxicState, boolean])[]): void {
    for (const [toxic, applied] of toxics) {
      this.entries.push({ toxic, stage: applied ? this.create(toxic, undefined) : undefined });
    }
    this.relink();
    this.dst.on('drain', this.onDrain);
    this.src.on('end', this.onEnd);
    this.src.on('data', this.onData);
  }

  private readonly onData = (data: Buffer): void => {
    this.counters.received += data.length;
    const head = this.head;
    if (head === undefined) {
      this.counters.sent += data.length;
      if (!this.dst.write(data)) {
        this.blocked = true;
        if (!this.paused) {
          this.paused = true;
          this.src.pause();
        }
      }
      return;
    }
    this.inflight += data.length;
    head.write({ data, time: performance.now() });
    this.flow();
  };

  private readonly onEnd = (): void => {
    if (this.head === undefined) this.end('eof');
    else this.head.end('eof');
  };

  private readonly onDrain = (): void => {
    this.blocked = false;
    this.flow();
  };

  private flow(): void {
    const stop = this.blocked || this.inflight > CHAIN_HIGH_WATER;
    if (stop === this.paused) return;
    this.paused = stop;
    if (stop) this.src.pause();
    else this.src.resume();
  }

  /** The chain's last sink: the destination socket. */
  write(chunk: Chunk): void {
    this.inflight -= chunk.data.length;
    if (this.ended || this.dst.destroyed) {
      this.flow();
      return;
    }
    this.counters.sent += chunk.data.length;
    if (!this.dst.write(chunk.data)) this.blocked = true;
    this.flow();
  }

  end(kind: EndKind): void {
    if (this.ended) return;
    this.ended = true;
    if (kind === 'close') this.owner.close();
    else if (!this.dst.destroyed) this.dst.end();
  }

  /** A toxic was added to the proxy (it goes last in the chain). */
  add(toxic: ToxicState, applied: boolean): void {
    this.entries.push({ toxic, stage: applied ? this.create(toxic, undefined) : undefined });
    this.relink();
  }

  /** A toxic was removed: its pending data moves on, then it leaves the chain. */
  remove(toxic: ToxicState): void {
    const i = this.entries.findIndex((e) => e.toxic === toxic);
    const entry = this.entries[i];
    if (entry === undefined) return;
    this.entries.splice(i, 1);
    entry.stage?.detach('removed');
    this.relink();
  }

  /** A toxic changed: a fresh stage takes over the old one's pending data. */
  update(toxic: ToxicState, applied: boolean): void {
    const entry = this.entries.find((e) => e.toxic === toxic);
    if (entry === undefined) return;
    const old = entry.stage;
    if (old !== undefined) {
      if (applied) {
        const fresh = this.create(toxic, old);
        fresh.next = old.next;
        old.next = fresh;
        entry.stage = fresh;
      } else {
        entry.stage = undefined;
      }
      old.detach('replaced');
    } else if (applied) {
      entry.stage = this.create(toxic, undefined);
    }
    this.relink();
  }

  /** The connection is gone: stop every stage's timers. */
  dispose(): void {
    for (const e of this.entries) e.stage?.dispose();
    this.entries = [];
    this.head = undefined;
    this.ended = true;
  }

  private create(toxic: ToxicState, previous: ToxicStage | undefined): ToxicStage {
    return (toxic.kind as StreamToxicKind).create(toxic.attributes, this.ctx, previous);
  }

  private relink(): void {
    let next: Sink = this;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const stage = this.entries[i]?.stage;
      if (stage === undefined) continue;
      stage.next = next;
      next = stage;
    }
    this.head = next === this ? undefined : next;
  }
}
