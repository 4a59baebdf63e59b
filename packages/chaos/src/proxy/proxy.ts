import type { Channel } from 'node:diagnostics_channel';
import { createServer, type Server, type Socket } from 'node:net';
import { attr, type ToxicAttributeValue } from '../toxics/stage.js';
import { formatAddress, type HostPort, listenErrorText, parseHostPort } from './address.js';
import { Connection, type ConnectionHost } from './connection.js';
import { ChaosErrorCode, FaultlineChaosError } from './errors.js';
import { chaosChannels } from './events.js';
import type { HttpFaultRecord } from './http-exchange.js';
import { adoptWithLargeReads } from './large-reads.js';
import { type ByteCounters, type ProxyJson, type ProxyStats, type ToxicState, toxicJson } from './model.js';

/** Services a proxy shares with its registry. */
export interface ProxyEnv {
  readonly random: () => number;
  readonly logger: ((line: string) => void) | undefined;
}

/**
 * One proxy: a TCP listener forwarding each accepted connection to `upstream` through its toxics.
 * Its toxics live here; live connections follow every change.
 */
export class ProxyInstance implements ConnectionHost {
  readonly toxics: ToxicState[] = [];
  readonly upstreamBytes: ByteCounters = { received: 0, sent: 0 };
  readonly downstreamBytes: ByteCounters = { received: 0, sent: 0 };
  readonly random: () => number;
  private readonly connections = new Set<Connection>();
  private server: Server | undefined;
  private target: HostPort | string;
  private connectionsTotal = 0;
  enabled = false;

  constructor(
    readonly name: string,
    public listen: string,
    private upstreamAddress: string,
    private readonly env: ProxyEnv,
  ) {
    this.random = env.random;
    this.target = parseHostPort(upstreamAddress);
  }

  get upstream(): string {
    return this.upstreamAddress;
  }

  set upstream(address: string) {
    this.upstreamAddress = address;
    this.target = parseHostPort(address);
  }

  /** Binds the listener; `listen` becomes the bound address. Throws FL_PROXY_LISTEN. */
  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const parsed = parseHostPort(this.listen);
    if (typeof parsed === 'string') {
      throw new FaultlineChaosError(ChaosErrorCode.ProxyListen, `proxy ${this.name}: listen tcp: ${parsed}`, {
        apiMessage: `listen tcp: ${parsed}`,
        details: { proxy: this.name, listen: this.listen },
      });
    }
    const server = createServer(
      { allowHalfOpen: true, noDelay: true, pauseOnConnect: true },
      this.onConnection,
    );
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: parsed.host, port: parsed.port }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
    } catch (e) {
      server.close();
      const text = listenErrorText(this.listen, e);
      throw new FaultlineChaosError(ChaosErrorCode.ProxyListen, `proxy ${this.name}: ${text}`, {
        apiMessage: text,
        cause: e,
        details: { proxy: this.name, listen: this.listen },
      });
    }
    server.on('error', () => {});
    this.server = server;
    this.enabled = true;
    this.listen = formatAddress(server.address(), this.listen);
  }

  /** Closes the listener and every connection. */
  async stop(): Promise<void> {
    this.enabled = false;
    const server = this.server;
    this.server = undefined;
    for (const c of this.connections) c.destroy();
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  addToxic(toxic: ToxicState): void {
    this.toxics.push(toxic);
    for (const c of this.connections) c.toxicAdded(toxic);
  }

  removeToxic(toxic: ToxicState): void {
    const i = this.toxics.indexOf(toxic);
    if (i < 0) return;
    this.toxics.splice(i, 1);
    for (const c of this.connections) c.toxicRemoved(toxic);
  }

  updateToxic(toxic: ToxicState, toxicity: number, attributes: Record<string, ToxicAttributeValue>): void {
    const reroll = toxicity !== toxic.toxicity;
    toxic.toxicity = toxicity;
    toxic.attributes = attributes;
    for (const c of this.connections) c.toxicUpdated(toxic, reroll);
  }

  findToxic(name: string): ToxicState | undefined {
    return this.toxics.find((t) => t.name === name);
  }

  /** Toxics as listed by the API: upstream ones first, then downstream, then `both`, each in order added. */
  listToxics(): ToxicState[] {
    const order = { upstream: 0, downstream: 1, both: 2 };
    return this.toxics
      .map((t, i) => [t, i] as const)
      .sort((a, b) => order[a[0].stream] - order[b[0].stream] || a[1] - b[1])
      .map(([t]) => t);
  }

  toJSON(): ProxyJson {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.listToxics().map(toxicJson),
    };
  }

  stats(): ProxyStats {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      upstreamBytes: { ...this.upstreamBytes },
      downstreamBytes: { ...this.downstreamBytes },
      connectionsTotal: this.connectionsTotal,
      connectionsOpen: this.connections.size,
    };
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
  }

  private readonly onConnection = (accepted: Socket): void => {
    const client = adoptWithLargeReads(accepted, true);
    if (!this.enabled) {
      client.on('error', () => {});
      client.destroy();
      return;
    }
    this.connectionsTotal++;
    const conn = new Connection(this, client);
    this.connections.add(conn);
    const toxics = this.toxics.slice();
    const applied: ToxicState[] = [];
    const skipped: ToxicState[] = [];
    for (const t of toxics) (conn.roll(t) ? applied : skipped).push(t);
    this.logConnection(client, applied, skipped);

    if (applied.some((t) => t.type === 'refuse_connection')) {
      conn.reset();

      return;
    }
    const target = this.target;
    if (typeof target === 'string') {
      conn.destroy();
      return;
    }
    let hold = 0;
    for (const t of applied) if (t.type === 'delay_accept') hold += attr(t.attributes, 'delay');
    if (hold > 0) conn.hold(hold, () => conn.open(target, this.toxics));
    else conn.open(target, toxics);
  };

  httpFault(conn: Connection, fault: HttpFaultRecord): void {
    this.publish(chaosChannels.http, () => ({
      time: new Date().toISOString(),
      kind: 'chaos.http.fault',
      proxy: this.name,
      client: clientOf(conn.client),
      ...fault,
    }));
  }

  notHttp(conn: Connection, direction: 'upstream' | 'downstream', reason: string): void {
    this.publish(chaosChannels.http, () => ({
      time: new Date().toISOString(),
      kind: 'chaos.http.passthrough',
      proxy: this.name,
      client: clientOf(conn.client),
      direction,
      reason,
    }));
  }

  private logConnection(client: Socket, applied: ToxicState[], skipped: ToxicState[]): void {
    this.publish(chaosChannels.connection, () => ({
      time: new Date().toISOString(),
      kind: 'chaos.connection',
      proxy: this.name,
      client: clientOf(client),
      upstream: this.upstream,
      toxics: applied.map((t) => ({ name: t.name, type: t.type, stream: t.stream })),
      skipped: skipped.map((t) => t.name),
    }));
  }

  /** Publishes a record on `ch` and writes it to the logger, built only when someone will see it. */
  private publish(ch: Channel, build: () => Record<string, unknown>): void {
    const { logger } = this.env;
    if (logger === undefined && !ch.hasSubscribers) return;
    const record = build();
    if (ch.hasSubscribers) ch.publish(record);
    if (logger !== undefined) {
      try {
        logger(JSON.stringify(record));
      } catch {
        // a failing logger must not break the proxy
      }
    }
  }
}

function clientOf(client: Socket): string {
  return `${client.remoteAddress ?? '?'}:${client.remotePort ?? 0}`;
}
