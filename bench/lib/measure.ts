/** Per-call timing and allocation of async functions, each measured in its own loop. */

type AsyncFn = () => Promise<unknown>;
type Loop = (n: number, f: AsyncFn) => Promise<void>;

/** A fresh loop per subject, so that call sites stay monomorphic and subjects don't slow each other. */
function makeLoop(): Loop {
  return new Function('n', 'f', 'return (async () => { for (let i = 0; i < n; i++) await f(); })();') as Loop;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Median ns per call over `rounds` rounds of `n` calls, after a warm-up. */
export async function nsPerCall(f: AsyncFn, n = 500_000, rounds = 7): Promise<number> {
  const loop = makeLoop();
  await loop(Math.min(n, 200_000), f);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    gc?.();
    const t = process.hrtime.bigint();
    await loop(n, f);
    samples.push(Number(process.hrtime.bigint() - t) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

/**
 * Bytes allocated per call: heap growth over `n` calls with no garbage collection in between
 * (run with a large young generation, `--max-semi-space-size`). Retries with fewer calls if a
 * collection happened during the measurement.
 */
export async function bytesPerCall(f: AsyncFn, n = 20_000): Promise<number> {
  if (gc === undefined) throw new Error('run with --expose-gc');
  const { PerformanceObserver } = await import('node:perf_hooks');
  const loop = makeLoop();
  await loop(50_000, f);
  for (let calls = n; calls >= 1000; calls = Math.floor(calls / 2)) {
    let collections = 0;
    const obs = new PerformanceObserver((list) => {
      collections += list.getEntries().length;
    });
    gc();
    // let the observer's own setup settle before measuring
    await new Promise((r) => setImmediate(r));
    obs.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    await loop(calls, f);
    const after = process.memoryUsage().heapUsed;
    await new Promise((r) => setImmediate(r));
    obs.disconnect();
    if (collections === 0) return Math.max(0, (after - before) / calls);
  }
  return Number.NaN;
}

export const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
