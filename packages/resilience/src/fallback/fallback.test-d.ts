import { expectTypeOf, test } from 'vitest';
import { type Policy, wrap } from '../core/pipeline.js';
import { retry } from '../retry/retry.js';
import { timeout } from '../timeout/timeout.js';
import { fallback } from './fallback.js';

test('a fixed fallback adds its (widened) type to the result', () => {
  expectTypeOf(fallback('x')).toMatchTypeOf<Policy<string>>();
  expectTypeOf(wrap(fallback('x'), retry()).execute(() => 1)).toEqualTypeOf<Promise<number | string>>();
  expectTypeOf(fallback(0).execute(async () => 'a')).toEqualTypeOf<Promise<string | number>>();
  expectTypeOf(fallback(null).execute(() => 1)).toEqualTypeOf<Promise<number | null>>();
  expectTypeOf(fallback([] as string[]).execute(() => ['a'])).toEqualTypeOf<Promise<string[]>>();
});

test('fn: the type of what fn returns, sync or async', () => {
  const f = fallback({ fn: async (_e, { signal }) => (signal.aborted ? 0 : 1) });
  expectTypeOf(f.execute(() => 'a')).toEqualTypeOf<Promise<string | 0 | 1>>();
  const g = fallback({ fn: () => ({ cached: true as const }) });
  expectTypeOf(wrap(g, timeout(10)).execute(() => 1)).toEqualTypeOf<Promise<number | { cached: true }>>();
});

test('lastGood alone adds nothing: it serves a result of the work itself', () => {
  const f = fallback({ lastGood: true, ttlMs: 1000 });
  expectTypeOf(f.execute(() => 1)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(wrap(retry(), f).execute(async () => 'a')).toEqualTypeOf<Promise<string>>();
});

test('options are checked', () => {
  // @ts-expect-error ttlMs must be a number
  fallback({ lastGood: true, ttlMs: '1s' });
  // @ts-expect-error fn must be a function: an object with an `fn` is not a fixed value
  fallback({ fn: () => 1, ttlMs: '1s' });
  // @ts-expect-error lastGood must be true
  fallback({ lastGood: false });
  // @ts-expect-error handles takes an error and returns a boolean
  fallback(1, { handles: 3 });
});
