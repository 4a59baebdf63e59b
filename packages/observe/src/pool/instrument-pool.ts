import { performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PreAggregatedHistogram } from '../metrics/pre-aggregated-histogram.js';

/**
 * The parts of a node-postgres `Pool` (pg 8) that are read or wrapped; any pool with the same
 * shape works. `connect` is wrapped in both its callback and promise forms.
 */
export interface PgPoolLike {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options?: { readonly max?: number | undefined } | undefined;
  connect(...args: never[]): unknown;
}

/** Pool state at one moment, with the field names logs use. */
export interface PoolState {
  readonly pool_active: number;
  readonly pool_idle: number;
  readonly pool_waiting: number;
  readonly pool_max: number;
}

export interface InstrumentPoolOptions {
  /** The `pool` label; one name per pool. */
  readonly name: string;
  /** With traces: `peer.service` of the query spans, the database's name in service graphs. */
  readonly peerService?: string;
}

export interface InstrumentedPool {
  readonly name: string;
  /** The pool's state now, e.g. for a log line at the moment of failure. */
  poolState(): PoolState;
  /** Restores `pool.connect` and drops the pool's series. */
  uninstrument(): void;
}

/** node-postgres' default `max`. */
const PG_DEFAULT_MAX = 10;
/** Acquisition is ~µs with an idle client, ms for a new connection, up to seconds when waiting. */
const ACQUIRE_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** `{ pool_active, pool_idle, pool_waiting, pool_max }` of `pool` now. */
export function poolState(pool: PgPoolLike): PoolState {
  return {
    pool_active: pool.totalCount - pool.idleCount,
    pool_idle: pool.idleCount,
    pool_waiting: pool.waitingCount,
    pool_max: pool.options?.max ?? PG_DEFAULT_MAX,
  };
}

// pg-pool rejects with this message when connectionTimeoutMillis elapses
function isAcquireTimeout(error: unknown): boolean {
  return error instanceof Error && /timeout/i.test(error.message);
}

type ConnectCallback = (err: unknown, client: unknown, done: unknown) => void;

/** The pool gauges, acquire histogram and counters of one registry, shared by all its pools. */
export class PoolMetrics {
  private readonly pools = new Map<string, PgPoolLike>();
  private readonly acquire: PreAggregatedHistogram<'pool'>;
  private readonly timeouts: Counter<'pool'>;
  private readonly errors: Counter<'pool'>;
  private readonly gauges: Gauge<'pool'>[] = [];

  constructor(registry: Registry) {
    const registers = [registry];
    const pools = this.pools;
    const gauge = (name: string, help: string, read: (s: PoolState) => number) => {
      this.gauges.push(
        new Gauge({
          name,
          help,
          labelNames: ['pool'],
          registers,
          collect() {
            this.reset();
            for (const [pool, p] of pools) this.set({ pool }, read(poolState(p)));
          },
        }),
      );
    };
    gauge(
      'db_pool_connections_in_use',
      'Clients checked out of the pool (total - idle)',
      (s) => s.pool_active,
    );
    gauge('db_pool_connections_idle', 'Connected clients idle in the pool', (s) => s.pool_idle);
    gauge('db_pool_waiting', 'Callers waiting for a client', (s) => s.pool_waiting);
    gauge('db_pool_connections_max', 'Configured pool size (max)', (s) => s.pool_max);
    // observed on every query (pool.query acquires a client): counted in arrays, rendered on scrape
    this.acquire = new PreAggregatedHistogram({
      name: 'db_pool_acquire_duration_seconds',
      help: 'Time from pool.connect() to a client (or to the failure)',
      labelNames: ['pool'],
      buckets: ACQUIRE_BUCKETS,
      registry,
    });
    this.timeouts = new Counter({
      name: 'db_pool_acquire_timeouts_total',
      help: 'pool.connect() calls that failed because connectionTimeoutMillis elapsed',
      labelNames: ['pool'],
      registers,
    });
    this.errors = new Counter({
      name: 'db_pool_acquire_errors_total',
      help: 'pool.connect() calls that failed for another reason (connection refused, auth, …)',
      labelNames: ['pool'],
      registers,
    });
  }

  /**
   * Exposes `pool`'s gauges and times its `connect` (also used by `pool.query`).
   * @example const db = metrics.instrument(new pg.Pool({ max: 20 }), { name: 'main' });
   */
  instrument(pool: PgPoolLike, options: InstrumentPoolOptions): InstrumentedPool {
    const { name } = options;
    if (this.pools.has(name)) throw new Error(`a pool named "${name}" is already instrumented`);
    this.pools.set(name, pool);
    const target = pool as unknown as { connect: (...args: unknown[]) => unknown };
    const hadOwn = Object.hasOwn(target, 'connect');
    const original = target.connect;
    const acquire = this.acquire.series({ pool: name });
    const timeouts = this.timeouts.labels(name);
    const errors = this.errors.labels(name);
    const settle = (start: number, err: unknown) => {
      acquire.observe((performance.now() - start) / 1000);
      if (err === undefined || err === null) return;
      if (isAcquireTimeout(err)) timeouts.inc();
      else errors.inc();
    };
    target.connect = function connect(this: unknown, ...args: unknown[]): unknown {
      const start = performance.now();
      const cb = args[0];
      if (typeof cb === 'function') {
        const wrapped: ConnectCallback = (err, client, done) => {
          settle(start, err);
          (cb as ConnectCallback)(err, client, done);
        };
        return args.length === 1
          ? original.call(this, wrapped)
          : Reflect.apply(original, this, [wrapped, ...args.slice(1)]);
      }
      const result = Reflect.apply(original, this, args) as Promise<unknown>;
      return result.then(
        (client) => {
          settle(start, undefined);
          return client;
        },
        (err: unknown) => {
          settle(start, err);
          throw err;
        },
      );
    };
    let active = true;
    return {
      name,
      poolState: () => poolState(pool),
      uninstrument: () => {
        if (!active) return;
        active = false;
        if (hadOwn) target.connect = original;
        else delete (target as { connect?: unknown }).connect;
        this.pools.delete(name);
        this.acquire.removeSeries({ pool: name });
        this.timeouts.remove(name);
        this.errors.remove(name);
      },
    };
  }
}

const perRegistry = new WeakMap<Registry, PoolMetrics>();

/** The PoolMetrics of `registry`, created on first use (metric names are registered once). */
export function poolMetricsFor(registry: Registry): PoolMetrics {
  let metrics = perRegistry.get(registry);
  if (metrics === undefined) {
    metrics = new PoolMetrics(registry);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

/**
 * Instruments a pg `Pool` into `registry`: in-use, idle, waiting and max gauges, acquire-time
 * histogram, acquire timeouts and errors.
 * @example const db = instrumentPool(pool, { name: 'main', registry }); log.error(db.poolState(), 'DB timeout');
 */
export function instrumentPool(
  pool: PgPoolLike,
  options: InstrumentPoolOptions & { readonly registry: Registry },
): InstrumentedPool {
  return poolMetricsFor(options.registry).instrument(pool, options);
}

/** Forgets the PoolMetrics of `registry` (after its metrics were removed from it). */
export function releasePoolMetrics(registry: Registry): void {
  perRegistry.delete(registry);
}
