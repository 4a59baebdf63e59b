/**
 * Soak: a few million calls through a full pipeline (successes, failures, retries, timeouts
 * armed) must leave a flat heap — no per-call state may outlive its call.
 */
import { circuitBreaker, RetryBudget, retry, timeout, wrap } from '@faultline/resilience';
import { round } from './lib/measure.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const calls = Number(process.env.SOAK_CALLS ?? 3_000_000);
const budget = new RetryBudget({ ratio: 0.2 });
const policy = wrap(
  retry({ maxRetries: 2, backoff: 0, budget }),
  circuitBreaker({ window: { kind: 'count', size: 100, minCalls: 50 } }),
  timeout(1000),
);
let i = 0;
const work = async ({ signal }: { signal: AbortSignal }) => {
  i++;
  // every 10th attempt reads its signal (creating an AbortController); every 50th fails once
  if (i % 10 === 0 && signal.aborted) throw new Error('aborted');
  if (i % 50 === 0) throw new Error('transient');
  return i;
};
const ac = new AbortController();

const samples: { calls: number; heapMb: number }[] = [];
const sample = (n: number) => {
  gc();
  samples.push({ calls: n, heapMb: process.memoryUsage().heapUsed / 2 ** 20 });
};
const step = Math.floor(calls / 10);
for (let n = 0; n < calls; n++) {
  if (n % step === 0) sample(n);
  // half the calls carry a caller signal, as requests in a server do
  await policy.execute(work, n % 2 === 0 ? { signal: ac.signal } : undefined).catch(() => {});
}
sample(calls);

// growth between the second sample (after warm-up) and the last
const warm = samples[1] as { heapMb: number };
const last = samples[samples.length - 1] as { heapMb: number };
const growthBytesPerCall = ((last.heapMb - warm.heapMb) * 2 ** 20) / (calls - step);
console.table(samples.map((s) => ({ calls: s.calls, 'heap MB': round(s.heapMb, 2) })));
console.log(
  JSON.stringify({
    calls,
    heap_start_mb: round(warm.heapMb, 2),
    heap_end_mb: round(last.heapMb, 2),
    growth_bytes_per_call: round(growthBytesPerCall, 4),
    flat: Math.abs(last.heapMb - warm.heapMb) < 2,
  }),
);
