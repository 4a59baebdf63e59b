import type { ToxicAttributeValue, ToxicKind } from '../toxics/stage.js';

/** Which direction a toxic acts on: upstream = client → server, downstream = server → client. `both` is a faultline extra. */
export type ToxicStream = 'upstream' | 'downstream' | 'both';

/** A toxic as the REST API shows it. */
export interface ToxicJson {
  readonly name: string;
  readonly type: string;
  readonly stream: ToxicStream;
  readonly toxicity: number;
  /** Integers, except for the HTTP toxics' match attributes (strings, a header map). */
  readonly attributes: Readonly<Record<string, ToxicAttributeValue>>;
}

/** A proxy as the REST API shows it (Toxiproxy's shape). */
export interface ProxyJson {
  readonly name: string;
  /** The bound address (`127.0.0.1:41234` when created with port 0). */
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
  readonly toxics: readonly ToxicJson[];
}

/** A toxic to add. Defaults as Toxiproxy: name `<type>_<stream>`, stream `downstream`, toxicity 1. */
export interface ToxicConfig {
  readonly name?: string;
  readonly type: string;
  readonly stream?: string;
  readonly toxicity?: number;
  /** Integer attributes of the type; unknown ones are ignored, missing ones are 0. */
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** Changes to a toxic: attributes are merged into the current ones. */
export interface ToxicUpdate {
  readonly toxicity?: number;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** A proxy to create (the `/populate` shape); `toxics` is a faultline extra for start-up configs. */
export interface ProxyConfig {
  readonly name: string;
  /** `host:port`; default `127.0.0.1:0` (an empty host means 127.0.0.1). */
  readonly listen?: string;
  /** `host:port` of the real service. */
  readonly upstream: string;
  /** Default true. */
  readonly enabled?: boolean;
  readonly toxics?: readonly ToxicConfig[];
}

/** Changes to a proxy; fields left out keep their values. */
export interface ProxyUpdate {
  readonly listen?: string;
  readonly upstream?: string;
  readonly enabled?: boolean;
}

/** Bytes counted per direction. */
export interface ByteCounters {
  /** read from the source socket */
  received: number;
  /** written to the destination socket */
  sent: number;
}

/** Traffic counters of one proxy. */
export interface ProxyStats {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly upstreamBytes: Readonly<ByteCounters>;
  readonly downstreamBytes: Readonly<ByteCounters>;
  readonly connectionsTotal: number;
  readonly connectionsOpen: number;
}

/** A toxic as the engine holds it; live connections refer to this object. */
export interface ToxicState {
  readonly name: string;
  readonly type: string;
  readonly stream: ToxicStream;
  readonly kind: ToxicKind;
  toxicity: number;
  attributes: Record<string, ToxicAttributeValue>;
}

export function toxicJson(t: ToxicState): ToxicJson {
  return {
    name: t.name,
    type: t.type,
    stream: t.stream,
    toxicity: t.toxicity,
    attributes: copyAttributes(t.attributes),
  };
}

function copyAttributes(
  a: Readonly<Record<string, ToxicAttributeValue>>,
): Record<string, ToxicAttributeValue> {
  const out: Record<string, ToxicAttributeValue> = {};
  for (const [k, v] of Object.entries(a)) out[k] = typeof v === 'object' ? { ...v } : v;
  return out;
}
