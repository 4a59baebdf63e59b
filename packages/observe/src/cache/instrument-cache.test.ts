import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryTracing } from '../jobs/memory-tracing.fixtures.js';
import { instrumentCache } from './instrument-cache.js';

/** An async cache over a Map, with a ttl and a switch to make it fail. */
class AsyncMapCache<V> {
  readonly map = new Map<string, { value: V; expires: number }>();
  broken = false;
  async get(key: string): Promise<V | undefined> {
    await new Promise((r) => setImmediate(r));
    if (this.broken) throw new Error('cache down');
    const e = this.map.get(key);
    return e === undefined || e.expires < Date.now() ? undefined : e.value;
  }
  async set(key: string, value: V, ttl = 60_000): Promise<void> {
    if (this.broken) throw new Error('cache down');
    this.map.set(key, { value, expires: Date.now() + ttl });
  }
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const found = m.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

describe('instrumentCache', () => {
  let registry: Registry;
  let traced: ReturnType<typeof memoryTracing> | undefined;
  beforeEach(() => {
    registry = new Registry();
  });
  afterEach(async () => {
    registry.clear();
    await traced?.close();
    traced = undefined;
  });

  it('counts hits, misses and sets of a sync Map and stays sync', async () => {
    const cache = instrumentCache(new Map<string, number>(), { name: 'local', registry });
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('a')).toBe(1);
    expect(await value(registry, 'cache_operations_total', { cache: 'local', result: 'hit' })).toBe(2);
    expect(await value(registry, 'cache_operations_total', { cache: 'local', result: 'miss' })).toBe(1);
    expect(await value(registry, 'cache_operations_total', { cache: 'local', result: 'set' })).toBe(1);
    const text = await registry.getSingleMetricAsString('cache_get_duration_seconds');
    expect(text).toContain('cache_get_duration_seconds_count{cache="local",result="hit"} 2');
    expect(text).toContain('cache_get_duration_seconds_count{cache="local",result="miss"} 1');
  });

  it('counts an async cache, errors rethrown, and makes cache.get spans without the key', async () => {
    traced = memoryTracing();
    const inner = new AsyncMapCache<string>();
    const cache = instrumentCache(inner, { name: 'users', registry, tracing: traced.tracing });
    await cache.set('user:secret-42', 'ada', 1000);
    expect(await cache.get('user:secret-42')).toBe('ada');
    expect(await cache.get('user:nobody')).toBeUndefined();
    inner.broken = true;
    await expect(cache.get('user:secret-42')).rejects.toThrow('cache down');
    await expect(cache.set('x', 'y')).rejects.toThrow('cache down');

    expect(await value(registry, 'cache_operations_total', { cache: 'users', result: 'hit' })).toBe(1);
    expect(await value(registry, 'cache_operations_total', { cache: 'users', result: 'miss' })).toBe(1);
    expect(await value(registry, 'cache_operations_total', { cache: 'users', result: 'set' })).toBe(1);
    expect(await value(registry, 'cache_operations_total', { cache: 'users', result: 'error' })).toBe(2);
    const text = await registry.getSingleMetricAsString('cache_get_duration_seconds');
    expect(text).toContain('cache_get_duration_seconds_count{cache="users",result="error"} 1');

    const spans = traced.exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['cache.get', 'cache.get', 'cache.get']);
    expect(spans.map((s) => s.attributes['cache.hit'])).toEqual([true, false, undefined]);
    expect(spans[2]?.status.code).toBe(2);
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('secret');
  });

  it('shares the series of one registry between caches', async () => {
    const a = instrumentCache(new Map<string, number>(), { name: 'a', registry });
    const b = instrumentCache(new Map<string, number>(), { name: 'b', registry });
    a.get('k');
    b.get('k');
    b.get('k');
    expect(await value(registry, 'cache_operations_total', { cache: 'a', result: 'miss' })).toBe(1);
    expect(await value(registry, 'cache_operations_total', { cache: 'b', result: 'miss' })).toBe(2);
  });
});
