import { performance } from 'node:perf_hooks';
import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Tracing } from '../traces/tracing.js';

/**
 * Any cache with `get` (sync or async) and `set`: a `Map`, an LRU, a Redis client wrapper.
 * Method syntax on purpose: `Map<string, User>` and friends are assignable.
 */
export interface CacheLike<K = never, V = unknown> {
  get(key: K): Promise<V | undefined> | V | undefined;
  set(key: K, value: V, ttl?: number): unknown;
}

export interface InstrumentCacheOptions {
  /** The `cache` label; one name per cache. */
  readonly name: string;
  readonly registry: Registry;
  /** When given, a `cache.get` span per get (`cache.name`, `cache.hit`; never the key). */
  readonly tracing?: Pick<Tracing, 'tracer'> | undefined;
}

/** `hit`, `miss`, `set` or `error` (a get or set that threw or rejected). */
export type CacheResult = 'hit' | 'miss' | 'set' | 'error';

/** Lookups are ~µs in process, ~ms over the network. */
export const CACHE_BUCKETS = [
  0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

interface Series {
  readonly hit: Counter.Internal;
  readonly miss: Counter.Internal;
  readonly set: Counter.Internal;
  readonly error: Counter.Internal;
  readonly getHit: Histogram.Internal<'cache' | 'result'>;
  readonly getMiss: Histogram.Internal<'cache' | 'result'>;
  readonly getError: Histogram.Internal<'cache' | 'result'>;
}

/** The cache counter and get-latency histogram of one registry, shared by all its caches. */
export class CacheMetrics {
  private readonly operations: Counter<'cache' | 'result'>;
  private readonly duration: Histogram<'cache' | 'result'>;
  private readonly series = new Map<string, Series>();

  constructor(registry: Registry) {
    this.operations = new Counter({
      name: 'cache_operations_total',
      help: 'Cache gets by result (hit, miss, error) and sets (set, or error when the set failed), by cache',
      labelNames: ['cache', 'result'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'cache_get_duration_seconds',
      help: 'Time a cache get took, by cache and result (hit, miss, error)',
      labelNames: ['cache', 'result'],
      buckets: CACHE_BUCKETS,
      registers: [registry],
    });
  }

  /** The label children of cache `name` (created once; prom-client hashes labels otherwise). */
  of(name: string): Series {
    let s = this.series.get(name);
    if (s === undefined) {
      s = {
        hit: this.operations.labels(name, 'hit'),
        miss: this.operations.labels(name, 'miss'),
        set: this.operations.labels(name, 'set'),
        error: this.operations.labels(name, 'error'),
        getHit: this.duration.labels(name, 'hit'),
        getMiss: this.duration.labels(name, 'miss'),
        getError: this.duration.labels(name, 'error'),
      };
      this.series.set(name, s);
    }
    return s;
  }
}

const perRegistry = new WeakMap<Registry, CacheMetrics>();

/** The CacheMetrics of `registry`, created on first use (metric names are registered once). */
export function cacheMetricsFor(registry: Registry): CacheMetrics {
  let metrics = perRegistry.get(registry);
  if (metrics === undefined) {
    metrics = new CacheMetrics(registry);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

/** Forgets the CacheMetrics of `registry` (after its metrics were removed from it). */
export function releaseCacheMetrics(registry: Registry): void {
  perRegistry.delete(registry);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

function fail(span: Span | undefined, e: unknown): void {
  if (span === undefined) return;
  span.recordException(e instanceof Error ? e : String(e));
  span.setAttribute('error.type', e instanceof Error ? e.name : 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
  span.end();
}

/**
 * Wraps `cache` so every get counts a hit (value not `undefined`), a miss or an error and is
 * timed, and every set counts a set or an error. A sync cache stays sync, an async one async;
 * errors are rethrown. With `tracing`, each get is a `cache.get` span with `cache.hit`.
 * @example const users = instrumentCache(new Map<string, User>(), { name: 'users', registry });
 */
export function instrumentCache<C extends CacheLike>(
  cache: C,
  options: InstrumentCacheOptions,
): Pick<C, 'get' | 'set'> {
  const s = cacheMetricsFor(options.registry).of(options.name);
  const tracer = options.tracing?.tracer;
  const name = options.name;
  const target = cache as unknown as {
    get(key: unknown): unknown;
    set(...args: unknown[]): unknown;
  };

  const got = (value: unknown, start: number, span: Span | undefined): unknown => {
    const seconds = (performance.now() - start) / 1000;
    const hit = value !== undefined;
    (hit ? s.hit : s.miss).inc();
    (hit ? s.getHit : s.getMiss).observe(seconds);
    span?.setAttribute('cache.hit', hit);
    span?.end();
    return value;
  };
  const getFailed = (e: unknown, start: number, span: Span | undefined): never => {
    s.error.inc();
    s.getError.observe((performance.now() - start) / 1000);
    fail(span, e);
    throw e;
  };
  const setFailed = (e: unknown): never => {
    s.error.inc();
    throw e;
  };

  const wrapper = {
    get(key: unknown): unknown {
      const span = tracer?.startSpan('cache.get', {
        attributes: { 'cache.name': name, 'db.operation.name': 'get' },
      });
      const start = performance.now();
      let result: unknown;
      try {
        result = target.get(key);
      } catch (e) {
        return getFailed(e, start, span);
      }
      if (!isThenable(result)) return got(result, start, span);
      return Promise.resolve(result).then(
        (v) => got(v, start, span),
        (e: unknown) => getFailed(e, start, span),
      );
    },
    set(...args: unknown[]): unknown {
      let result: unknown;
      try {
        result = target.set(...args);
      } catch (e) {
        return setFailed(e);
      }
      if (!isThenable(result)) {
        s.set.inc();
        return result;
      }
      return Promise.resolve(result).then((v) => {
        s.set.inc();
        return v;
      }, setFailed);
    },
  };
  return wrapper as unknown as Pick<C, 'get' | 'set'>;
}
