import { expectTypeOf, test } from 'vitest';
import { retry } from '../retry/retry.js';
import { timeout } from '../timeout/timeout.js';
import { type Policy, wrap } from './pipeline.js';
import type { ExecuteContext } from './scope.js';

test('composing policies keeps the work result type', () => {
  const p = wrap(retry(), timeout(100));
  expectTypeOf(p).toMatchTypeOf<Policy>();
  expectTypeOf(p.execute(() => 42)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(p.execute(async () => 'x')).toEqualTypeOf<Promise<string>>();
  expectTypeOf(p.execute((ctx) => ctx)).toEqualTypeOf<Promise<ExecuteContext>>();
  expectTypeOf(timeout(1).execute(async ({ signal }) => signal)).toEqualTypeOf<Promise<AbortSignal>>();
});

test('a policy that substitutes a value widens the result type', () => {
  const substituting = null as unknown as Policy<'fallback'>;
  const p = wrap(substituting, retry(), timeout(100));
  expectTypeOf(p.execute(() => 42)).toEqualTypeOf<Promise<number | 'fallback'>>();
});

test('retryOnResult is typed by the caller', () => {
  retry({ retryOnResult: (res: { status: number }) => res.status >= 500 });
  // @ts-expect-error maxRetries must be a number
  retry({ maxRetries: '3' });
});
