import { performance } from 'node:perf_hooks';
import { abortResponse, hits, matchesRequest, requestPath } from '../toxics/http-faults.js';
import { type HttpHead, HttpParser, headerValue, wantsClose } from '../toxics/http-parser.js';
import {
  type Chunk,
  delay,
  type EndKind,
  PassStage,
  Queue,
  type StageContext,
  type StreamToxicKind,
} from '../toxics/stage.js';
import type { ToxicState } from './model.js';

/** A fault applied to one request, as logged and published (`chaos.http.fault`). */
export interface HttpFaultRecord {
  readonly method: string;
  readonly path: string;
  /** Names of the toxics that applied, in chain order. */
  readonly toxics: readonly string[];
  readonly action: 'abort' | 'delay' | 'delay+abort';
  readonly status?: number;
  readonly delayMs?: number;
  /** The abort closes the connection (its framing could not be kept, or the client asked). */
  readonly close?: boolean;
}

/** What an exchange needs from its connection. */
export interface HttpExchangeHost {
  readonly random: () => number;
  /** The HTTP toxics that apply to this connection now, in the order added. */
  httpToxics(): readonly ToxicState[];
  fault(record: HttpFaultRecord): void;
  /** The stream is not HTTP/1.x (reported once per connection and direction). */
  notHttp(direction: 'upstream' | 'downstream', reason: string): void;
}

type Pending =
  | { readonly kind: 'forwarded'; readonly method: string }
  | { readonly kind: 'synthetic'; readonly bytes: Buffer; readonly close: boolean; ready: boolean };

/**
 * The HTTP side of one connection while the proxy has HTTP toxics: a request stage on the client →
 * server stream decides per request (forward, delay, answer directly), and a response stage on the
 * server → client stream puts each direct answer in its place among the upstream's responses, so
 * that keep-alive and pipelined clients get their responses in request order.
 */
export class HttpExchange {
  /** Requests in client order whose responses have not gone out yet. */
  private readonly pending: Pending[] = [];
  private responses: ResponseStage | undefined;
  private closed = false;

  constructor(readonly host: HttpExchangeHost) {}

  /** The internal toxic carrying the request stage (never listed, never removed while the connection lives). */
  readonly requestToxic: ToxicState = internalToxic(
    '(http requests)',
    'upstream',
    (ctx) => new RequestStage(this, ctx),
  );

  readonly responseToxic: ToxicState = internalToxic('(http responses)', 'downstream', (ctx) => {
    const stage = new ResponseStage(this, ctx);
    this.responses = stage;
    return stage;
  });

  forwarded(method: string): void {
    this.pending.push({ kind: 'forwarded', method });
  }

  synthetic(bytes: Buffer, close: boolean): Pending & { kind: 'synthetic' } {
    const entry = { kind: 'synthetic' as const, bytes, close, ready: false };
    this.pending.push(entry);
    return entry;
  }

  ready(entry: Pending & { kind: 'synthetic' }): void {
    entry.ready = true;
    this.pump();
  }

  /** The method of the oldest forwarded request still waiting for its response. */
  requestMethod(): string | undefined {
    for (const p of this.pending) if (p.kind === 'forwarded') return p.method;
    return undefined;
  }

  /** A final response from the upstream went out: its request is answered. */
  responded(): void {
    const i = this.pending.findIndex((p) => p.kind === 'forwarded');
    if (i >= 0) this.pending.splice(i, 1);
    this.pump();
  }

  /** Sends the direct answers whose turn has come. */
  pump(): void {
    const out = this.responses;
    if (out === undefined || this.closed) return;
    const unordered = out.opaque;
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i] as Pending;
      if (p.kind === 'forwarded') {
        // the upstream stream cannot be followed: answer in arrival order, best effort
        if (unordered) {
          i++;
          continue;
        }
        return;
      }
      if (!p.ready) return;
      this.pending.splice(i, 1);
      out.inject(p.bytes);
      if (p.close) {
        this.closed = true;
        out.closeAfter();
        return;
      }
    }
  }
}

function internalToxic(
  name: string,
  stream: 'upstream' | 'downstream',
  create: (ctx: StageContext) => PassStage,
): ToxicState {
  const kind: StreamToxicKind = {
    type: 'http',
    level: 'stream',
    attributes: [],
    create: (_a, ctx) => create(ctx),
  };
  return { name, type: 'http', stream, kind, toxicity: 1, attributes: {} };
}

interface Timed {
  readonly due: number;
  readonly data?: Buffer;
  readonly run?: () => void;
}

type Mode = 'forward' | 'drop' | 'drop-all';

/** Client → server: parses requests and applies the HTTP toxics to each. */
class RequestStage extends PassStage {
  private readonly parser: HttpParser;
  private mode: Mode = 'forward';
  private readonly queue = new Queue<Timed>();
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;
  private pendingEnd: EndKind | undefined;
  private time = 0;
  /** The direct answer of the request being dropped, while it may still be marked `close`. */
  private current: (Pending & { kind: 'synthetic' }) | undefined;

  constructor(
    private readonly exchange: HttpExchange,
    private readonly ctx: StageContext,
  ) {
    super();
    this.parser = new HttpParser('request', {
      head: (head, raw) => this.onHead(head, raw),
      body: (raw) => this.emitOrDrop(raw),
      done: () => {
        if (this.mode === 'drop') this.mode = 'forward';
        this.current = undefined;
      },
      error: (reason) => {
        this.exchange.host.notHttp('upstream', reason);
        if (this.mode === 'drop') {
          // the aborted request's body lost its framing: close after its answer
          if (this.current !== undefined && !this.current.ready) {
            (this.current as { close: boolean }).close = true;
          } else this.ctx.destroy();
          this.mode = 'drop-all';
        }
      },
      opaque: (raw) => this.emitOrDrop(raw),
    });
  }

  override write(chunk: Chunk): void {
    if (this.detached) {
      this.next.write(chunk);
      return;
    }
    this.time = chunk.time;
    if (this.parser.isOpaque && this.mode === 'forward' && this.queue.length === 0) {
      this.next.write(chunk);
      return;
    }
    this.parser.push(chunk.data);
  }

  override end(kind: EndKind): void {
    if (!this.detached) {
      const rest = this.parser.takeBuffered();
      if (rest.length > 0) this.emitOrDrop(rest);
    }
    if (this.detached || this.queue.length === 0) {
      this.next.end(kind);
      return;
    }
    this.pendingEnd = kind;
  }

  override detach(reason: 'removed' | 'replaced'): void {
    super.detach(reason);
    this.cancel();
    const rest = this.parser.takeBuffered();
    for (let t = this.queue.shift(); t !== undefined; t = this.queue.shift()) {
      if (t.data !== undefined) this.next.write({ data: t.data, time: performance.now() });
      else t.run?.();
    }
    if (rest.length > 0) this.next.write({ data: rest, time: performance.now() });
    this.flushEnd();
  }

  override dispose(): void {
    super.dispose();
    this.cancel();
    this.queue.clear();
  }

  private onHead(head: HttpHead, raw: Buffer): void {
    if (this.mode === 'drop-all') {
      this.ctx.dropped(raw.length);
      return;
    }
    const applied: string[] = [];
    let wait = 0;
    let abort: { status: number; toxic: string } | undefined;
    for (const t of this.exchange.host.httpToxics()) {
      if (!matchesRequest(t.attributes, head) || !hits(t.attributes, this.ctx.random)) continue;
      if (t.type === 'http_delay') {
        const d = t.attributes.delay;
        wait += typeof d === 'number' ? d : 0;
        applied.push(t.name);
      } else if (t.type === 'http_abort' && abort === undefined) {
        const s = t.attributes.status;
        abort = { status: typeof s === 'number' ? s : 503, toxic: t.name };
        applied.push(t.name);
      }
    }
    const now = performance.now();
    const due = Math.max(now + wait, this.lastDue);
    this.lastDue = due;
    if (abort === undefined) {
      this.exchange.forwarded(head.method);
      if (applied.length > 0) {
        this.report(head, applied, { action: 'delay', delayMs: wait });
      }
      this.emit(raw, due);
      return;
    }
    // answer it ourselves; drop the request (and its body as it comes)
    const expectsBody = head.body !== 'none' && /100-continue/i.test(headerValue(head, 'expect') ?? '');
    const close = head.body === 'opaque' || wantsClose(head) || expectsBody;
    const entry = this.exchange.synthetic(abortResponse(abort.status, abort.toxic, head, close), close);
    this.current = entry;
    this.mode = close ? 'drop-all' : 'drop';
    this.ctx.dropped(raw.length);
    this.report(head, applied, {
      action: wait > 0 ? 'delay+abort' : 'abort',
      status: abort.status,
      ...(wait > 0 ? { delayMs: wait } : {}),
      ...(close ? { close } : {}),
    });
    this.schedule({ due, run: () => this.exchange.ready(entry) });
  }

  private report(
    head: HttpHead,
    toxics: string[],
    rest: Omit<HttpFaultRecord, 'method' | 'path' | 'toxics'>,
  ): void {
    this.exchange.host.fault({ method: head.method, path: requestPath(head.target), toxics, ...rest });
  }

  private emitOrDrop(raw: Buffer): void {
    if (raw.length === 0) return;
    if (this.mode === 'forward') this.emit(raw, this.lastDue);
    else this.ctx.dropped(raw.length);
  }

  private emit(data: Buffer, due: number): void {
    if (this.queue.length === 0 && due <= performance.now()) {
      this.next.write({ data, time: this.time });
      return;
    }
    this.schedule({ due, data });
  }

  private schedule(item: Timed): void {
    if (this.queue.length === 0 && item.due <= performance.now()) {
      if (item.data !== undefined) this.next.write({ data: item.data, time: this.time });
      else item.run?.();
      return;
    }
    this.queue.push(item);
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    const head = this.queue.peek();
    if (head === undefined) return;
    this.timer = delay(this.release, Math.ceil(head.due - performance.now()));
  }

  private readonly release = (): void => {
    this.timer = undefined;
    const now = performance.now();
    for (let t = this.queue.peek(); t !== undefined && t.due <= now; t = this.queue.peek()) {
      this.queue.shift();
      if (t.data !== undefined) this.next.write({ data: t.data, time: now });
      else t.run?.();
      if (this.detached) return;
    }
    if (this.queue.length > 0) this.arm();
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

/** Server → client: follows the upstream's responses so that direct answers go out in their turn. */
class ResponseStage extends PassStage {
  private readonly parser: HttpParser;
  private final = false;
  private closing = false;

  constructor(
    private readonly exchange: HttpExchange,
    private readonly ctx: StageContext,
  ) {
    super();
    this.parser = new HttpParser(
      'response',
      {
        head: (head, raw) => {
          this.final = head.status >= 200 || head.status === 101;
          this.pass(raw);
        },
        body: (raw) => this.pass(raw),
        done: () => {
          if (this.final) this.exchange.responded();
        },
        error: (reason) => {
          this.exchange.host.notHttp('downstream', reason);
        },
        opaque: (raw) => this.pass(raw),
      },
      { requestMethod: () => this.exchange.requestMethod() },
    );
  }

  get opaque(): boolean {
    return this.parser.isOpaque;
  }

  override write(chunk: Chunk): void {
    if (this.detached || this.closing) {
      if (this.closing) this.ctx.dropped(chunk.data.length);
      else this.next.write(chunk);
      return;
    }
    this.time = chunk.time;
    const wasOpaque = this.parser.isOpaque;
    this.parser.push(chunk.data);
    if (!wasOpaque && this.parser.isOpaque) this.exchange.pump();
  }

  override end(kind: EndKind): void {
    if (!this.detached) {
      const rest = this.parser.takeBuffered();
      if (rest.length > 0) this.pass(rest);
    }
    if (!this.closing) this.next.end(kind);
  }

  private time = 0;

  private pass(raw: Buffer): void {
    if (raw.length > 0) this.next.write({ data: raw, time: this.time });
  }

  /** Writes a direct answer to the client (its bytes were never counted in this link: count them). */
  inject(bytes: Buffer): void {
    this.ctx.dropped(-bytes.length);
    this.next.write({ data: bytes, time: performance.now() });
  }

  /** After a direct answer with `connection: close`: close the connection once it is out. */
  closeAfter(): void {
    this.closing = true;
    this.next.end('close');
  }
}
