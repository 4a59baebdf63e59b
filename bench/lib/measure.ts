/** Per-call timing and allocation of async functions, each measured in its own loop. */

type AsyncFn = () => Promise<unknown>;
type Loop = (n: number, f: AsyncFn) => Promise<void>;

/** A fresh loop per subject, so that call sites stay monomorphic and subjects don't slow each other. */
function makeLoop(): Loop {
  return new Function('n', 'f', 'return (async () => { for (let i = 0; i < n; i++) await f(); })();') as Loop;
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * ns per call of several subjects, measured interleaved (round 1 of every subject, then round 2…)
 * so that a noisy neighbour slows them all alike; each subject's figure is its fastest round,
 * the best estimate of its own cost on a shared machine.
 */
export async function nsPerCallInterleaved(
  subjects: Record<string, { f: AsyncFn; n: number }>,
  rounds = 9,
): Promise<Record<string, number>> {
  const loops = Object.fromEntries(Object.keys(subjects).map((k) => [k, makeLoop()]));
  for (const [k, { f, n }] of Object.entries(subjects)) await (loops[k] as Loop)(Math.min(n, 200_000), f);
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [k, { f, n }] of Object.entries(subjects)) {
      const t = process.hrtime.bigint();
      await (loops[k] as Loop)(n, f);
      const ns = Number(process.hrtime.bigint() - t) / n;
      best[k] = Math.min(best[k] ?? Number.POSITIVE_INFINITY, ns);
    }
  }
  return best;
}

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
 * Bytes allocated per call: growth of V8's new space over `n` calls (run with a young generation
 * large enough, `--min-semi-space-size`, that no collection runs during the measurement; if one
 * does, the new space shrinks and the measurement is retried with fewer calls).
 */
export async function bytesPerCall(f: AsyncFn, n = 20_000): Promise<number> {
  const { getHeapSpaceStatistics } = await import('node:v8');
  const newSpace = () =>
    getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
  const loop = makeLoop();
  await loop(20_000, f);
  for (let calls = n; calls >= 500; calls = Math.floor(calls / 2)) {
    gc?.();
    const before = newSpace();
    await loop(calls, f);
    const after = newSpace();
    if (after > before) return (after - before) / calls;
  }
  return Number.NaN;
}

export const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
