import type { Socket } from 'node:net';
import type { HostPort } from './address.js';
import { HttpExchange, type HttpExchangeHost, type HttpFaultRecord } from './http-exchange.js';
import { connectWithLargeReads } from './large-reads.js';
import { Link, type LinkOwner } from './link.js';
import type { ByteCounters, ToxicState } from './model.js';

/** What a connection needs from its proxy. */
export interface ConnectionHost {
  readonly random: () => number;
  readonly upstreamBytes: ByteCounters;
  readonly downstreamBytes: ByteCounters;
  connectionClosed(conn: Connection): void;
  /** An HTTP toxic applied to a request of this connection. */
  httpFault?(conn: Connection, record: HttpFaultRecord): void;
  /** A stream of this connection is not HTTP/1.x although HTTP toxics are on (once per direction). */
  notHttp?(conn: Connection, direction: 'upstream' | 'downstream', reason: string): void;
}

/** How long a connection closed by a toxic may take to flush before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

function includes(toxic: ToxicState, direction: 'upstream' | 'downstream'): boolean {
  return toxic.kind.level === 'stream' && (toxic.stream === direction || toxic.stream === 'both');
}

function resetSocket(s: Socket | undefined): void {
  if (s === undefined || s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

/**
 * One client connection and its upstream socket, with a link per direction. The dice for each toxic
 * are rolled once per connection (and again when a toxic's toxicity changes); a `both` toxic uses the
 * same roll for both directions.
 */
export class Connection implements LinkOwner, HttpExchangeHost {
  readonly random: () => number;
  private readonly rolls = new Map<ToxicState, boolean>();
  private upstream: Socket | undefined;
  private up: Link | undefined;
  private down: Link | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private done = false;
  private clientClosed = false;
  private upstreamClosed = false;
  private finished = false;
  private http: HttpExchange | undefined;
  private notHttpSeen = 0;

  constructor(
    private readonly host: ConnectionHost,
    readonly client: Socket,
  ) {
    this.random = host.random;
    client.setNoDelay(true);
    client.on('error', this.onClientError);
    client.on('close', this.onClientClose);
  }

  /** Rolls the dice for a toxic; true when it applies to this connection. */
  roll(toxic: ToxicState): boolean {
    const applied = this.random() < toxic.toxicity;
    this.rolls.set(toxic, applied);
    return applied;
  }

  /** Holds the client `ms` milliseconds, then connects upstream (delay_accept). */
  hold(ms: number, then: () => void): void {
    this.client.pause();
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      if (!this.done) then();
    }, ms);
  }

  /** Connects upstream and starts relaying through the toxics that applied. */
  open(target: HostPort, toxics: readonly ToxicState[]): void {
    if (this.done) return;
    const upstream = connectWithLargeReads({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.upstream = upstream;
    upstream.on('error', this.onUpstreamError);
    upstream.on('close', this.onUpstreamClose);
    const pick = (dir: 'upstream' | 'downstream') =>
      toxics.filter((t) => includes(t, dir)).map((t) => [t, this.rolls.get(t) ?? this.roll(t)] as const);
    this.up = new Link(this.client, upstream, this.host.upstreamBytes, this);
    this.down = new Link(upstream, this.client, this.host.downstreamBytes, this);
    this.up.start(pick('upstream'));
    this.down.start(pick('downstream'));
    if (toxics.some((t) => t.kind.level === 'http')) this.startHttp();
    this.client.resume();
  }

  /**
   * The proxy has an HTTP toxic: from now on, requests on this connection are parsed (and responses
   * followed) until it closes. With none, nothing of this runs.
   */
  private startHttp(): void {
    if (this.http !== undefined || this.up === undefined || this.down === undefined || this.done) return;
    const http = new HttpExchange(this);
    this.http = http;
    this.up.add(http.requestToxic, true);
    this.down.add(http.responseToxic, true);
  }

  /** HttpExchangeHost: the HTTP toxics that rolled in for this connection, in the order added. */
  httpToxics(): readonly ToxicState[] {
    const out: ToxicState[] = [];
    for (const [t, applied] of this.rolls) if (applied && t.kind.level === 'http') out.push(t);
    return out;
  }

  fault(record: HttpFaultRecord): void {
    this.host.httpFault?.(this, record);
  }

  notHttp(direction: 'upstream' | 'downstream', reason: string): void {
    const bit = direction === 'upstream' ? 1 : 2;
    if ((this.notHttpSeen & bit) !== 0) return;
    this.notHttpSeen |= bit;
    this.host.notHttp?.(this, direction, reason);
  }

  toxicAdded(toxic: ToxicState): void {
    const applied = this.roll(toxic);
    if (toxic.kind.level === 'http') this.startHttp();
    if (includes(toxic, 'upstream')) this.up?.add(toxic, applied);
    if (includes(toxic, 'downstream')) this.down?.add(toxic, applied);
  }

  toxicRemoved(toxic: ToxicState): void {
    this.rolls.delete(toxic);
    if (includes(toxic, 'upstream')) this.up?.remove(toxic);
    if (includes(toxic, 'downstream')) this.down?.remove(toxic);
  }

  toxicUpdated(toxic: ToxicState, reroll: boolean): void {
    const applied = reroll ? this.roll(toxic) : (this.rolls.get(toxic) ?? this.roll(toxic));
    if (includes(toxic, 'upstream')) this.up?.update(toxic, applied);
    if (includes(toxic, 'downstream')) this.down?.update(toxic, applied);
  }

  /** Closes both sockets now. */
  destroy(): void {
    this.stop();
    this.client.destroy();
    this.upstream?.destroy();
  }

  /** Closes both sockets now with a TCP RST. */
  reset(): void {
    this.stop();
    resetSocket(this.client);
    resetSocket(this.upstream);
  }

  /** A toxic closed the stream: end both sockets once their pending writes are out. */
  close(): void {
    if (this.done) return;
    this.stop();
    for (const s of [this.client, this.upstream]) {
      if (s === undefined || s.destroyed) continue;
      s.pause();
      if (s.writableFinished) s.destroy();
      else {
        s.once('finish', () => s.destroy());
        s.end();
      }
    }
    this.graceTimer = setTimeout(() => {
      this.client.destroy();
      this.upstream?.destroy();
    }, CLOSE_GRACE_MS);
    this.graceTimer.unref();
  }

  private stop(): void {
    this.done = true;
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.up?.dispose();
    this.down?.dispose();
  }

  private clientError: (Error & { code?: string }) | undefined;
  private upstreamError: (Error & { code?: string }) | undefined;

  private readonly onClientError = (e: Error): void => {
    this.clientError = e;
  };

  private readonly onUpstreamError = (e: Error): void => {
    this.upstreamError = e;
  };

  private readonly onClientClose = (hadError: boolean): void => {
    this.clientClosed = true;
    if (hadError || this.upstream === undefined) {
      if (this.clientError?.code === 'ECONNRESET') this.reset();
      else this.destroy();
    }
    this.maybeFinish();
  };

  private readonly onUpstreamClose = (hadError: boolean): void => {
    this.upstreamClosed = true;
    if (hadError) {
      if (this.upstreamError?.code === 'ECONNRESET') this.reset();
      else this.destroy();
    }
    this.maybeFinish();
  };

  private maybeFinish(): void {
    if (this.finished || !this.clientClosed || (this.upstream !== undefined && !this.upstreamClosed)) return;
    this.finished = true;
    this.stop();
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.host.connectionClosed(this);
  }
}
