/**
 * Uninstrumented dependencies (a database, an external HTTP API) leave no spans of their own: they
 * show only as the CLIENT spans of their callers. Like Jaeger's and Tempo's service graphs (and
 * OTel's `peer.service`), such a peer is drawn as a virtual node named from its callers' span
 * attributes — `peer.service`, else `db.system.name` / `db.system`, else `server.address[:port]` —
 * and its callers' client spans become its spans: their durations its latency, their failures its
 * errors. A peer is virtual only when (almost) none of the calls to it reach a traced span and its
 * name is not a traced service: an instrumented callee never gets a virtual twin.
 */
import type { TelemetryStore } from '../store/telemetry-store.js';

/** Share of a peer's client calls that may have a traced child (a stray span) for it to stay virtual. */
export const MAX_TRACED_SHARE = 0.1;

const attr = (key: string) => `nullif(json_extract_string(attrs, '$."${key}"'), '')`;

/** The peer named by a client span's attributes, first present wins. */
const PEER_NAME = `coalesce(${attr('peer.service')}, ${attr('db.system.name')}, ${attr('db.system')},
  ${attr('server.address')} || coalesce(':' || ${attr('server.port')}, ''))`;

/**
 * CTEs (to follow `WITH`): `virtual_calls(trace_id, span_id, caller, peer, db)`, the client spans that
 * are calls to a virtual peer, and `spans_v`, the spans table with those spans filed under their
 * peer (columns as `spans`).
 */
export const VIRTUAL_CALLS_CTES = `
named_calls AS (SELECT trace_id, span_id, service AS caller, ${PEER_NAME} AS peer,
  coalesce(${attr('db.system.name')}, ${attr('db.system')}) IS NOT NULL AS db FROM spans
  WHERE kind = 'client' AND attrs IS NOT NULL AND service IS NOT NULL),
parent_ids AS (SELECT DISTINCT trace_id, parent_span_id AS sid FROM spans WHERE parent_span_id IS NOT NULL),
peer_calls AS (SELECT n.*, (p.sid IS NOT NULL) AS traced FROM named_calls n
  LEFT JOIN parent_ids p ON p.trace_id = n.trace_id AND p.sid = n.span_id WHERE n.peer IS NOT NULL),
virtual_peers AS (SELECT peer FROM peer_calls GROUP BY peer
  HAVING avg(traced::INT) <= ${MAX_TRACED_SHARE}
     AND peer NOT IN (SELECT DISTINCT service FROM spans WHERE service IS NOT NULL)),
virtual_calls AS (SELECT c.trace_id, c.span_id, c.caller, c.peer, c.db FROM peer_calls c
  JOIN virtual_peers USING (peer) WHERE NOT c.traced),
spans_v AS (SELECT sp.trace_id, sp.span_id, sp.parent_span_id, coalesce(v.peer, sp.service) AS service,
  sp.instance, sp.name, sp.kind, sp.start_ms, sp.duration_ms, sp.status, sp.attrs
  FROM spans sp LEFT JOIN virtual_calls v ON v.trace_id = sp.trace_id AND v.span_id = sp.span_id)`;

type Row = Record<string, unknown>;
const num = (r: Row, k: string): number => {
  const v = r[k];
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number.NaN;
};

/** A caller → virtual peer edge with its number of calls. */
export interface VirtualEdge {
  readonly caller: string;
  readonly callee: string;
  readonly count: number;
  /** The calls are database queries (`db.system.name` / `db.system` set). */
  readonly database: boolean;
}

/**
 * Caller → virtual peer edges, from calls started in [fromMs, toMs].
 * @example await virtualPeerEdges(store, { fromMs, toMs }) // [{ caller: 'app', callee: 'postgresql', count: 812 }]
 */
export async function virtualPeerEdges(
  store: TelemetryStore,
  window: { readonly fromMs: number; readonly toMs: number },
): Promise<VirtualEdge[]> {
  const rows = await store.query(
    `WITH ${VIRTUAL_CALLS_CTES}
     SELECT v.caller, v.peer AS callee, count(*)::DOUBLE AS n, bool_or(v.db) AS db FROM virtual_calls v
     JOIN spans sp ON sp.trace_id = v.trace_id AND sp.span_id = v.span_id
     WHERE sp.start_ms >= $from AND sp.start_ms <= $to GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    { from: window.fromMs, to: window.toMs },
  );
  return rows.map((r) => ({
    caller: String(r.caller),
    callee: String(r.callee),
    count: num(r, 'n'),
    database: r.db === true,
  }));
}

/** The slowest traces through calls to a virtual peer in [fromMs, toMs), at most three. */
export async function virtualPeerTraces(
  store: TelemetryStore,
  peer: string,
  fromMs: number,
  toMs: number,
): Promise<string[]> {
  const rows = await store.query(
    `WITH ${VIRTUAL_CALLS_CTES}
     SELECT sp.trace_id, max(sp.duration_ms) AS d FROM virtual_calls v
     JOIN spans sp ON sp.trace_id = v.trace_id AND sp.span_id = v.span_id
     WHERE v.peer = $peer AND sp.start_ms >= $from AND sp.start_ms < $to
     GROUP BY 1 ORDER BY 2 DESC LIMIT 3`,
    { peer, from: fromMs, to: toMs },
  );
  return rows.map((r) => String(r.trace_id));
}
