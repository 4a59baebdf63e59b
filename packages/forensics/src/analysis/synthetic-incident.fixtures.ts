/**
 * Synthetic incidents written as real telemetry files (OTLP/JSON spans, JSON logs, Prometheus
 * range metrics), so that ranking tests go through the store's own ingestion.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const T0 = 1_700_000_000_000;

/** A seeded generator (mulberry32): tests are reproducible. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width);

export interface SlowDatabaseIncident {
  readonly dir: string;
  readonly onsetMs: number;
}

/**
 * frontend → api → db, one request a second for 10 minutes; at minute 6 the database turns slow
 * (5 ms → 300 ms), logs slow-query warnings and its CPU rises; the callers only wait.
 */
export async function writeSlowDatabaseIncident(dir: string, seed = 1): Promise<SlowDatabaseIncident> {
  const rnd = random(seed);
  const onsetMs = T0 + 6 * 60_000;
  const spans: { service: string; spans: unknown[] }[] = [
    { service: 'frontend', spans: [] },
    { service: 'api', spans: [] },
    { service: 'db', spans: [] },
  ];
  const logs: string[] = [];
  const nano = (ms: number) => String(BigInt(Math.round(ms * 1000)) * 1000n);
  for (let i = 0; i < 600; i++) {
    const start = T0 + i * 1000 + rnd() * 200;
    const bad = start >= onsetMs;
    const dbMs = bad ? 300 + rnd() * 50 : 4 + rnd() * 2;
    const apiSelf = 2 + rnd();
    const feSelf = 1 + rnd();
    const trace = hex(i + 1, 32);
    const ids = [hex(3 * i + 1, 16), hex(3 * i + 2, 16), hex(3 * i + 3, 16)];
    const dbStart = start + feSelf / 2 + apiSelf / 2;
    const apiStart = start + feSelf / 2;
    const apiEnd = dbStart + dbMs + apiSelf / 2;
    const feEnd = apiEnd + feSelf / 2;
    const span = (id: string, parent: string | undefined, name: string, s: number, e: number) => ({
      traceId: trace,
      spanId: id,
      ...(parent === undefined ? {} : { parentSpanId: parent }),
      name,
      kind: 2,
      startTimeUnixNano: nano(s),
      endTimeUnixNano: nano(e),
    });
    spans[0]?.spans.push(span(ids[0] as string, undefined, 'GET /', start, feEnd));
    spans[1]?.spans.push(span(ids[1] as string, ids[0], 'GET /api/orders', apiStart, apiEnd));
    spans[2]?.spans.push(span(ids[2] as string, ids[1], 'SELECT orders', dbStart, dbStart + dbMs));
    logs.push(
      JSON.stringify({
        ts_unix_nano: nano(apiEnd),
        service: 'api',
        level: 'INFO',
        trace_id: trace,
        message: `request done in ${Math.round(apiEnd - apiStart)} ms`,
      }),
    );
    if (bad)
      logs.push(
        JSON.stringify({
          ts_unix_nano: nano(dbStart + dbMs),
          service: 'db',
          level: 'WARN',
          trace_id: trace,
          message: `slow query: SELECT orders took ${Math.round(dbMs)} ms`,
        }),
      );
  }
  const otlp = {
    resourceSpans: spans.map((s) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: s.service } }] },
      scopeSpans: [{ spans: s.spans }],
    })),
  };
  const metrics: string[] = [];
  for (const service of ['frontend', 'api', 'db']) {
    const values: [number, string][] = [];
    for (let t = 0; t < 600; t++) {
      const ms = T0 + t * 1000;
      const hot = service === 'db' && ms >= onsetMs;
      values.push([ms / 1000, String((hot ? 80 : 10) + rnd() * 2)]);
    }
    metrics.push(JSON.stringify({ metric: { __name__: 'cpu_percent', service }, values }));
  }
  await writeFile(join(dir, 'spans.otlp.json'), JSON.stringify(otlp));
  await writeFile(join(dir, 'logs.jsonl'), `${logs.join('\n')}\n`);
  await writeFile(join(dir, 'metrics.jsonl'), `${metrics.join('\n')}\n`);
  return { dir, onsetMs };
}

/**
 * Metrics only, 1 s: two recordings joined at `joinMs` (every series jumps there), and a CPU hog in
 * `hog` from the join on; the other services' memory falls at the join (the other session's level).
 */
export async function writeJoinedMetricsIncident(
  dir: string,
  hog: string,
  seed = 2,
): Promise<{ joinMs: number }> {
  const rnd = random(seed);
  const joinMs = T0 + 300_000;
  const lines: string[] = [];
  for (const service of ['carts', 'orders', 'payment', 'user']) {
    const cpu: [number, string][] = [];
    const mem: [number, string][] = [];
    for (let t = 0; t < 600; t++) {
      const ms = T0 + t * 1000;
      const after = ms >= joinMs;
      cpu.push([ms / 1000, String((after && service === hog ? 95 : after ? 6 : 5) + rnd())]);
      mem.push([ms / 1000, String((after && service !== hog ? 200e6 : 400e6) + rnd() * 1e6)]);
    }
    lines.push(JSON.stringify({ metric: { __name__: 'cpu', service }, values: cpu }));
    lines.push(JSON.stringify({ metric: { __name__: 'memory_usage_bytes', service }, values: mem }));
  }
  await writeFile(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  return { joinMs };
}

/**
 * Metrics only, 1 s, no traces: frontend → api → db. At minute 5 the database's CPU and latency
 * rise; the api's latency and error rate follow 10 s later, the frontend's 20 s later.
 */
export async function writeMetricsCascadeIncident(dir: string, seed = 3): Promise<{ onsetMs: number }> {
  const rnd = random(seed);
  const onsetMs = T0 + 300_000;
  const lagS: Record<string, number> = { db: 0, api: 10, frontend: 20 };
  const lines: string[] = [];
  for (const service of ['frontend', 'api', 'db']) {
    const series: Record<string, [number, string][]> = { cpu: [], latency_seconds: [], errors_rate: [] };
    for (let t = 0; t < 600; t++) {
      const ms = T0 + t * 1000;
      const bad = ms >= onsetMs + (lagS[service] ?? 0) * 1000;
      series.cpu?.push([ms / 1000, String((service === 'db' && bad ? 90 : 10) + rnd() * 2)]);
      series.latency_seconds?.push([ms / 1000, String((bad ? 0.8 : 0.02) + rnd() * 0.005)]);
      series.errors_rate?.push([ms / 1000, String((bad && service !== 'db' ? 5 : 0) + rnd() * 0.1)]);
    }
    for (const [name, values] of Object.entries(series))
      lines.push(JSON.stringify({ metric: { __name__: name, service }, values }));
  }
  await writeFile(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  return { onsetMs };
}

/** Which uninstrumented dependency turns slow in `writeUninstrumentedPeerIncident`. */
export type SlowPeer = 'database' | 'external-api';

/**
 * frontend → app (three instances, traced) → PostgreSQL and an external pricing API, neither
 * traced: they show only as the app's CLIENT spans (`db.system.name=postgresql`;
 * `server.address=127.0.0.1`, `server.port=9400`). The frontend calls the app through a client
 * span too (`server.address=127.0.0.1:8080`), answered by the app's traced server span. Three
 * requests a second for 10 minutes; at minute 6 the database's queries take 250 ms instead of 3 ms
 * (the app instances' pools queue: `db_pool_waiting` rises a few seconds later), or 60 % of the
 * pricing API's answers take 2 s instead of 5 ms.
 */
export async function writeUninstrumentedPeerIncident(
  dir: string,
  slow: SlowPeer,
  seed = 4,
): Promise<{ onsetMs: number }> {
  const rnd = random(seed);
  const onsetMs = T0 + 6 * 60_000;
  const instances = ['app-1', 'app-2', 'app-3'];
  const resources = new Map<string, unknown[]>([
    ['frontend', []],
    ...instances.map((i): [string, unknown[]] => [i, []]),
  ]);
  const nano = (ms: number) => String(BigInt(Math.round(ms * 1000)) * 1000n);
  const attrs = (o: Record<string, string | number>) =>
    Object.entries(o).map(([key, v]) => ({
      key,
      value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v },
    }));
  let id = 0;
  const nextId = () => hex(++id, 16);
  for (let i = 0; i < 1800; i++) {
    const start = T0 + Math.floor(i / 3) * 1000 + (i % 3) * 333 + rnd() * 100;
    const instance = instances[i % 3] as string;
    const bad = start >= onsetMs;
    const trace = hex(i + 1, 32);
    const span = (
      spanId: string,
      parent: string | undefined,
      name: string,
      kind: number,
      s: number,
      e: number,
      a: Record<string, string | number> = {},
    ) => ({
      traceId: trace,
      spanId,
      ...(parent === undefined ? {} : { parentSpanId: parent }),
      name,
      kind,
      startTimeUnixNano: nano(s),
      endTimeUnixNano: nano(e),
      attributes: attrs(a),
    });
    const app: unknown[] = [];
    const appServer = nextId();
    const appStart = start + 1 + rnd() * 0.5;
    let t = appStart + 0.5 + rnd() * 0.5;
    const waitMs = slow === 'database' && start >= onsetMs + 5000 ? 40 + rnd() * 80 : 0.1 + rnd() * 0.2;
    app.push(
      span(nextId(), appServer, 'pg.pool.acquire', 1, t, t + waitMs, { 'db.system.name': 'postgresql' }),
    );
    t += waitMs;
    for (const q of ['SELECT product', 'SELECT order_stats']) {
      const ms = slow === 'database' && bad ? 250 + rnd() * 50 : 2 + rnd() * 2;
      app.push(
        span(nextId(), appServer, 'pg.query', 3, t, t + ms, {
          'db.system.name': 'postgresql',
          'db.operation.name': q,
        }),
      );
      t += ms + 0.2;
    }
    const priceMs = slow === 'external-api' && bad && rnd() < 0.6 ? 2000 + rnd() * 100 : 4 + rnd() * 2;
    app.push(
      span(nextId(), appServer, 'GET', 3, t, t + priceMs, {
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'server.port': 9400,
      }),
    );
    t += priceMs + 0.5 + rnd() * 0.5;
    const feServer = nextId();
    const feClient = nextId();
    app.push(span(appServer, feClient, 'GET /api/products', 2, appStart, t));
    resources.get(instance)?.push(...app);
    resources.get('frontend')?.push(
      span(feServer, undefined, 'GET /', 2, start, t + 1.5),
      span(feClient, feServer, 'GET', 3, start + 0.5, t + 1, {
        'server.address': '127.0.0.1',
        'server.port': 8080,
      }),
    );
  }
  const otlp = {
    resourceSpans: [...resources].map(([name, spans]) => ({
      resource: {
        attributes: attrs(
          name === 'frontend'
            ? { 'service.name': 'frontend' }
            : { 'service.name': 'app', 'service.instance.id': name },
        ),
      },
      scopeSpans: [{ spans }],
    })),
  };
  const metrics: string[] = [];
  for (const instance of instances) {
    const waiting: [number, string][] = [];
    for (let s = 0; s < 600; s++) {
      const ms = T0 + s * 1000;
      const queued = slow === 'database' && ms >= onsetMs + 5000;
      waiting.push([ms / 1000, String(queued ? 8 + rnd() * 2 : rnd() < 0.1 ? 1 : 0)]);
    }
    metrics.push(
      JSON.stringify({ metric: { __name__: 'db_pool_waiting', service: 'app', instance }, values: waiting }),
    );
  }
  await writeFile(join(dir, 'spans.otlp.json'), JSON.stringify(otlp));
  await writeFile(join(dir, 'metrics.jsonl'), `${metrics.join('\n')}\n`);
  return { onsetMs };
}
