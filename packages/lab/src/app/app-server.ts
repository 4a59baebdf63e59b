import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, observe, requestContext } from '@faultline/observe';
import {
  circuitBreaker,
  DEADLINE_HEADER,
  fallback,
  guardPool,
  isFaultlineError,
  loadShedder,
  parseDeadlineHeader,
  timeout,
  withDeadline,
  wrap,
} from '@faultline/resilience';
import pg from 'pg';
import type { StartedComponent } from '../process/child-component.js';
import { type AppConfig, HARDENED } from './app-config.js';
import { startBatchJob } from './batch-job.js';
import { processFaults } from './process-faults.js';
import { type ProductData, productQueries } from './product-queries.js';
import { TtlCache } from './ttl-cache.js';

const OVERLOADED_HEADER = 'x-faultline-overloaded';

/**
 * One app server of the lab: `GET /api/products/:id` reads the product (cached), its order
 * statistics (PostgreSQL) and its price (the external API). Baseline: one pg pool that waits
 * forever, no timeouts, a deep `/health` that queries the database. Hardened: acquire and
 * statement timeouts, a request budget from the caller's deadline, CoDel shedding with
 * "overloaded, don't retry" answers, a breaker and a timeout on the pricing API with the last
 * known price as fallback, degraded answers when the statistics are unavailable, shallow `/live`.
 */
export async function startApp(config: AppConfig): Promise<StartedComponent> {
  const hardened = config.mode === 'hardened';
  const obs = observe({
    service: 'app',
    instance: config.instance,
    route: routeOf,
    // the only HTTP dependency: named as the lab's ground truth names it
    dependency: () => 'external-api',
    ...(config.spanFile === undefined
      ? {}
      : { traces: { exporter: { file: config.spanFile }, sampleRatio: config.traceSampleRatio ?? 1 } }),
  });
  const pool = new pg.Pool({
    connectionString: config.dbUrl,
    max: config.poolMax,
    ...(hardened
      ? { statement_timeout: HARDENED.statementTimeoutMs, query_timeout: HARDENED.statementTimeoutMs + 200 }
      : {}),
  });
  // an idle client whose connection the proxy cut must not crash the process
  pool.on('error', () => {});
  const instrumented = obs.instrumentPool(pool, { name: 'main', peerService: 'postgres' });
  const getSpan = obs.tracing?.getActiveSpanContext;
  const log = createLogger({
    service: 'app',
    instance: config.instance,
    destination: config.logFile,
    poolState: () => ({ ...instrumented.poolState() }),
    ...(getSpan === undefined ? {} : { getActiveSpanContext: () => getSpan() }),
  });
  const guard = guardPool(pool, { acquireTimeoutMs: HARDENED.acquireTimeoutMs, name: 'main' });
  const query = <R>(text: string, values: unknown[]): Promise<R[]> =>
    hardened
      ? guard.query<pg.QueryResult>(text, values).then((r) => r.rows as R[])
      : pool.query(text, values).then((r) => r.rows as R[]);
  const queries = productQueries(query);

  const cache = new TtlCache<ProductData>(10 * 60_000, 5000);
  const productCache = obs.instrumentCache(cache, { name: 'products' });
  const lastPrice = new Map<number, number>();
  const faults = processFaults();

  // hardened policies
  const shed = loadShedder({
    name: 'app-entry',
    maxConcurrent: HARDENED.maxConcurrent,
    maxQueued: HARDENED.maxQueued,
    targetDelayMs: HARDENED.shedTargetDelayMs,
    intervalMs: HARDENED.shedIntervalMs,
  });
  const pricing = wrap(
    circuitBreaker({
      name: 'pricing',
      window: { kind: 'count', size: 40, minCalls: 10 },
      failureRateThreshold: 0.5,
      slowCall: { durationMs: 250, rateThreshold: 0.8 },
      openDurationMs: 2000,
    }),
    timeout(HARDENED.externalTimeoutMs),
  );
  const stats = wrap(
    circuitBreaker({
      name: 'orders-db',
      window: { kind: 'count', size: 40, minCalls: 10 },
      failureRateThreshold: 0.5,
      openDurationMs: 2000,
    }),
  );
  const statsFallback = fallback<null>({ fn: () => null });

  const fetchPrice = async (id: number, signal?: AbortSignal): Promise<number> => {
    const res = await obs.fetch(`${config.externalUrl}/price/${id}`, signal === undefined ? {} : { signal });
    if (!res.ok) throw new Error(`pricing API answered ${res.status}`);
    const body = (await res.json()) as { price_cents: number };
    lastPrice.set(id, body.price_cents);
    return body.price_cents;
  };

  const product = async (id: number): Promise<ProductData | undefined> => {
    const cached = await productCache.get(String(id));
    if (cached !== undefined) return cached;
    const p = await queries.product(id);
    if (p !== undefined) productCache.set(String(id), p);
    return p;
  };

  const baselineProduct = async (id: number) => {
    const p = await product(id);
    if (p === undefined) return undefined;
    const s = await queries.orderStats(id);
    const recent = await queries.recentOrders(id);
    const price = await fetchPrice(id);
    return { ...p, price_cents: price, orders: s, recent, degraded: false };
  };

  const hardenedProduct = async (id: number) => {
    const p = await product(id);
    if (p === undefined) return undefined;
    let degraded = false;
    const [s, price] = await Promise.all([
      statsFallback
        .execute(() =>
          stats.execute(async () => ({
            ...(await queries.orderStats(id)),
            recent: await queries.recentOrders(id),
          })),
        )
        .then((v) => {
          if (v === null) degraded = true;
          return v;
        }),
      pricing
        .execute(({ signal }) => fetchPrice(id, signal))
        .catch(() => {
          degraded = true;
          return lastPrice.get(id) ?? p.list_price_cents;
        }),
    ]);
    return { ...p, price_cents: price, orders: s, degraded };
  };

  const answer = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const handleProduct = async (req: IncomingMessage, res: ServerResponse, id: number) => {
    const started = performance.now();
    try {
      const body = hardened
        ? await shed.execute(() => {
            const budget = Math.min(
              parseDeadlineHeader(req.headers[DEADLINE_HEADER]) ?? HARDENED.requestBudgetMs,
              HARDENED.requestBudgetMs,
            );
            return withDeadline(budget, () => hardenedProduct(id));
          })
        : await baselineProduct(id);
      if (body === undefined) answer(res, 404, { error: 'no such product' });
      else answer(res, 200, body);
      log.info(
        {
          route: 'GET /api/products',
          status: body === undefined ? 404 : 200,
          ms: Math.round(performance.now() - started),
          degraded: body?.degraded ?? false,
        },
        'request completed',
      );
    } catch (e) {
      const overloaded = isFaultlineError(e) && (e.code === 'FL_LOAD_SHED' || e.code === 'FL_BULKHEAD_FULL');
      const status = overloaded ? 503 : 500;
      const message = describe(e);
      answer(
        res,
        status,
        { error: message },
        overloaded ? { [OVERLOADED_HEADER]: '1', 'retry-after': '1' } : {},
      );
      if (overloaded)
        log.warn(
          { route: 'GET /api/products', status, ms: Math.round(performance.now() - started) },
          'request shed: overloaded',
        );
      else
        log.error(
          { route: 'GET /api/products', status, ms: Math.round(performance.now() - started), err: message },
          message,
        );
    }
  };

  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const body = await readJson(req);
    if (path === '/__admin/fault' && req.method === 'POST') {
      const kind = String(body.kind);
      if (kind === 'leak') faults.leak(Number(body.mb_per_s ?? 4));
      else if (kind === 'cpu') faults.burn(Number(body.percent ?? 50));
      else if (kind === 'block') faults.block(Number(body.ms ?? 1000));
      else if (kind === 'cache-flush') cache.clear();
      else return answer(res, 400, { error: `unknown fault kind ${JSON.stringify(kind)}` });
      log.warn({ fault: kind, params: body }, `fault injected: ${kind}`);
      return answer(res, 200, { ok: true });
    }
    if (path === '/__admin/fault' && req.method === 'DELETE') {
      faults.clear();
      return answer(res, 200, { ok: true });
    }
    if (path === '/__admin/job' && req.method === 'POST') {
      const seconds = Number(body.duration_s ?? 20);
      const concurrency = Number(body.concurrency ?? 6);
      void obs.runJob('nightly-report', () =>
        startBatchJob({ pool, hardened, dbUrl: config.dbUrl, seconds, concurrency, log }),
      );
      return answer(res, 200, { ok: true });
    }
    return answer(res, 404, { error: 'no such admin route' });
  };

  const server = createServer((req, res) => {
    if (obs.handler(req, res)) return;
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    requestContext.withRequest(req, res, () => {
      if (path.startsWith('/api/products/')) {
        const id = Number(path.slice('/api/products/'.length));
        if (!Number.isInteger(id) || id <= 0)
          return answer(res, 400, { error: 'product id must be a positive integer' });
        void handleProduct(req, res, id);
        return;
      }
      if (path === '/health') {
        // baseline: the classic deep check — it shares the pool with the requests
        pool.query('select 1').then(
          () => answer(res, 200, { status: 'ok' }),
          (e: unknown) => answer(res, 503, { status: 'down', error: describe(e) }),
        );
        return;
      }
      if (path === '/live') return answer(res, 200, { status: 'ok' });
      if (path === '/ready') {
        const state = instrumented.poolState();
        const ready = state.pool_waiting < state.pool_max * 4;
        return answer(res, ready ? 200 : 503, { status: ready ? 'ready' : 'busy', ...state });
      }
      if (path.startsWith('/__admin/')) {
        handleAdmin(req, res, path).catch((e: unknown) => answer(res, 400, { error: describe(e) }));
        return;
      }
      answer(res, 404, { error: 'not found' });
    });
  });
  obs.instrumentHttpServer(server);
  server.keepAliveTimeout = 65_000;

  let jobTimer: NodeJS.Timeout | undefined;
  if (config.jobIntervalMs > 0) {
    jobTimer = setInterval(() => {
      obs
        .runJob('refresh-top-products', () => queries.topProducts())
        .catch((e: unknown) =>
          log.error({ job: 'refresh-top-products', err: describe(e) }, 'background job failed'),
        );
    }, config.jobIntervalMs);
    jobTimer.unref();
  }

  // warm the product cache before taking traffic, as a careful deploy does: a cold cache would
  // triple the database work of the first minute (scenario 4's stampede, not the one run here)
  // (a database that is down must not keep the app from starting: it serves what it can)
  try {
    for (const p of await queries.allProducts()) cache.set(String(p.id), p);
  } catch (e) {
    log.warn({ err: describe(e) }, 'cache warm-up failed; starting with a cold cache');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, mode: config.mode, pool_max: config.poolMax }, 'app server started');

  return {
    info: { port, pid: process.pid },
    async close() {
      if (jobTimer !== undefined) clearInterval(jobTimer);
      faults.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end().catch(() => {});
      await obs.close();
      await new Promise<void>((resolve) => log.flush(() => resolve()));
    },
  };
}

function routeOf(req: IncomingMessage): string {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.startsWith('/api/products/')) return 'GET /api/products/:id';
  if (path.startsWith('/__admin/')) return 'admin';
  return `${req.method ?? 'GET'} ${path === '/health' || path === '/live' || path === '/ready' ? path : 'other'}`;
}

function describe(e: unknown): string {
  if (isFaultlineError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return {};
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}
