import type { TelemetryStore } from '../store/telemetry-store.js';

export interface LabelEdge {
  readonly caller: string;
  readonly callee: string;
  /** Series whose labels name the callee. */
  readonly count: number;
}

/** Labels that say where a series was measured, not what it is about. */
const SELF_LABELS = new Set([
  'instance',
  'job',
  'service',
  'service_name',
  'pod',
  'host',
  'node',
  'container',
]);

/**
 * Labels of a client-side series that name what it called (`observe()`'s outbound metrics say
 * `dependency`): the series is evidence about that dependency, even one with no metrics of its own
 * (an external API, a database).
 */
export const DEPENDENCY_LABELS: readonly string[] = ['dependency', 'peer_service'];

/**
 * Dependencies that metric labels name: a series of service S with a label whose value is an
 * instance (or the name) of another service T measures S's dealings with T — a load balancer's
 * `backend="app-1"`, a client's `upstream="orders"`. Services known only from metrics (a load
 * balancer, a proxy) get their place in the graph this way, so their symptoms can be explained
 * by the backends they route to.
 */
export async function labelEdges(store: TelemetryStore): Promise<LabelEdge[]> {
  const rows = await store.query(
    'SELECT service, instance, labels FROM series WHERE service IS NOT NULL AND labels IS NOT NULL',
  );
  const serviceOf = new Map<string, string>();
  const services = new Set<string>();
  for (const r of rows) {
    const service = String(r.service);
    services.add(service);
    if (r.instance !== null && r.instance !== undefined) serviceOf.set(String(r.instance), service);
  }
  const counts = new Map<string, number>();
  for (const r of rows) {
    const caller = String(r.service);
    let labels: Record<string, unknown>;
    try {
      labels = JSON.parse(String(r.labels)) as Record<string, unknown>;
    } catch {
      continue;
    }
    const named = new Set<string>();
    for (const [key, value] of Object.entries(labels)) {
      if (SELF_LABELS.has(key) || key.startsWith('exported_') || typeof value !== 'string') continue;
      const callee =
        serviceOf.get(value) ??
        (services.has(value) || (DEPENDENCY_LABELS.includes(key) && value !== '') ? value : undefined);
      if (callee !== undefined && callee !== caller) named.add(callee);
    }
    for (const callee of named) {
      const key = `${caller}\u0000${callee}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts].map(([key, count]) => {
    const [caller = '', callee = ''] = key.split('\u0000');
    return { caller, callee, count };
  });
}
