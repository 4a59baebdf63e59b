/** A piece of a stream: one socket read (or a slice of one), stamped with its arrival time. */
export interface Chunk {
  data: Buffer;
  /** `performance.now()` when the proxy read it. */
  readonly time: number;
}

/** How a stream ends: `eof` is a half-close (FIN) to pass on; `close` shuts the whole connection. */
export type EndKind = 'eof' | 'close';

/** Where a stage hands its output. */
export interface Sink {
  write(chunk: Chunk): void;
  end(kind: EndKind): void;
}

/** What a stage may do to its connection. */
export interface StageContext {
  /** Uniform in [0, 1); injectable for tests. */
  random(): number;
  /** Bytes a stage swallowed (so that backpressure accounting stays right). */
  dropped(bytes: number): void;
  /** Closes both sockets at once with a TCP RST. */
  reset(): void;
  /** Closes both sockets at once. */
  destroy(): void;
}

/** One toxic's live state on one stream of one connection. */
export interface ToxicStage extends Sink {
  next: Sink;
  /**
   * The toxic is removed (or replaced by a new stage, which is then `next`): hand pending data and a
   * pending end to `next` now, cancel timers, then pass everything straight through.
   */
  detach(reason: 'removed' | 'replaced'): void;
  /** The connection is gone: cancel timers, drop pending data. */
  dispose(): void;
}

/** An attribute value: integers for Toxiproxy's toxics; HTTP toxics also take strings and a header map. */
export type ToxicAttributeValue = number | string | Readonly<Record<string, string>>;

export type ToxicAttributes = Readonly<Record<string, ToxicAttributeValue>>;

/** A toxic acting on a stream's data. */
export interface StreamToxicKind {
  readonly type: string;
  readonly level: 'stream';
  /** Attribute names (all integers, missing ones are 0). */
  readonly attributes: readonly string[];
  /** Makes the stage; `previous` is the stage it replaces when the toxic is updated. */
  create(attributes: ToxicAttributes, ctx: StageContext, previous?: ToxicStage): ToxicStage;
}

/** A toxic acting when a connection is accepted (faultline extra). */
export interface ConnectionToxicKind {
  readonly type: string;
  readonly level: 'connection';
  readonly attributes: readonly string[];
}

/**
 * A toxic acting on HTTP/1.1 requests (faultline extra): the connection parses requests on the
 * client → server stream while such a toxic applies, and asks it about each request.
 */
export interface HttpToxicKind {
  readonly type: string;
  readonly level: 'http';
  readonly attributes: readonly string[];
  /** Validates and normalises attributes (strings allowed); `base` holds the current ones on update. */
  parse(
    input: Readonly<Record<string, unknown>> | undefined,
    base: ToxicAttributes | undefined,
  ): Record<string, ToxicAttributeValue>;
}

export type ToxicKind = StreamToxicKind | ConnectionToxicKind | HttpToxicKind;

/** Largest delay node timers take (about 24.8 days); longer ones are clamped to it. */
export const MAX_TIMER_MS = 2_147_483_647;

/** `setTimeout` clamped to what node accepts, never below 0. */
export function delay(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
}

/** Reads an attribute, treating missing and negative values as 0. */
export function attr(attributes: ToxicAttributes, name: string): number {
  const v = attributes[name];
  return typeof v !== 'number' || !(v > 0) ? 0 : v;
}

/** A stage passing everything through; toxics extend it. */
export class PassStage implements ToxicStage {
  next: Sink = noSink;
  protected detached = false;

  write(chunk: Chunk): void {
    this.next.write(chunk);
  }

  end(kind: EndKind): void {
    this.next.end(kind);
  }

  detach(_reason: 'removed' | 'replaced'): void {
    this.detached = true;
  }

  dispose(): void {
    this.detached = true;
  }
}

const noSink: Sink = {
  write() {},
  end() {},
};

/** A FIFO that does not shift arrays on every take. */
export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
