/**
 * Per-call overhead of the policies on the success path, against a bare async call, against the
 * physical floors (the cheapest possible outcome observer, and creating the AbortSignal that
 * signal-reading work needs) and against cockatiel 3 and opossum 9 doing the same, in one process.
 * Targets (issue #2): breaker ≤ 1.5× bare; retry+breaker+timeout ≤ 5× bare and ≥ 20× faster than
 * cockatiel's same composition.
 *
 * Timing runs every subject interleaved, many short rounds, and keeps each one's fastest round
 * (the machine is shared). Bytes per call are measured in a child process with a young generation
 * large enough that no collection runs during the measurement.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { circuitBreaker, retry, timeout, wrap } from '@faultline/resilience';
import * as cockatiel from 'cockatiel';
import Opossum from 'opossum';
import { bytesPerCall, nsPerCallInterleaved, round } from './lib/measure.js';

const value = { ok: true };
const bare = async () => value;
const noop = () => {};

// faultline
const fBreaker = circuitBreaker();
const fComposed = wrap(retry({ maxRetries: 2 }), circuitBreaker(), timeout(1000));
// cockatiel: the same composition (2 retries, consecutive breaker, cooperative timeout)
const cComposed = cockatiel.wrap(
  cockatiel.retry(cockatiel.handleAll, { maxAttempts: 2, backoff: new cockatiel.ExponentialBackoff() }),
  cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: 30_000,
    breaker: new cockatiel.ConsecutiveBreaker(5),
  }),
  cockatiel.timeout(1000, cockatiel.TimeoutStrategy.Cooperative),
);
const cBreaker = cockatiel.circuitBreaker(cockatiel.handleAll, {
  halfOpenAfter: 30_000,
  breaker: new cockatiel.ConsecutiveBreaker(5),
});
// opossum: a breaker with its built-in timeout (it has no retry)
const oBreaker = new Opossum(bare, { timeout: 1000, errorThresholdPercentage: 50, resetTimeout: 30_000 });

const subjects: Record<string, () => Promise<unknown>> = {
  bare: () => bare(),
  // floor: the cheapest way to see an outcome without changing it (one promise reaction)
  observe_floor: () => {
    const p = bare();
    p.then(noop, noop);
    return p;
  },
  breaker: () => fBreaker.execute(bare),
  composed: () => fComposed.execute(bare),
  // floor for signal-reading work: creating the AbortSignal itself (Node 20 builds it lazily, slowly)
  signal_floor: () => {
    const s = new AbortController().signal;
    return s.aborted ? Promise.reject(s.reason) : bare();
  },
  // the composition with work that reads its signal, as fetch or pg would
  composed_signal: () =>
    fComposed.execute(({ signal }) => (signal.aborted ? Promise.reject(signal.reason) : bare())),
  cockatiel_breaker: () => cBreaker.execute(bare),
  cockatiel_composed: () => cComposed.execute(bare),
  opossum_breaker_timeout: () => oBreaker.fire(),
};
const slow = new Set(['signal_floor', 'composed_signal', 'cockatiel_composed', 'opossum_breaker_timeout']);
/**
 * Work that creates AbortSignals (ours when the work reads its signal, cockatiel's on every call)
 * leaves weak references and finalizers behind that slow every later collection, whatever runs
 * next; so the signal-creating subjects run in a second process, each phase with `bare` and
 * `composed` as its own reference.
 */
const phases: Record<string, string[]> = {
  fast: ['bare', 'observe_floor', 'breaker', 'composed', 'cockatiel_breaker', 'opossum_breaker_timeout'],
  signals: ['bare', 'composed', 'signal_floor', 'composed_signal', 'cockatiel_composed'],
};

function child(env: Record<string, string>, flags: string[] = []): string {
  const r = spawnSync(process.execPath, ['--expose-gc', ...flags, fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`benchmark child ${JSON.stringify(env)} failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').at(-1) ?? '{}';
}

const phase = process.env.BENCH_PHASE;
if (phase === 'bytes') {
  const bytes: Record<string, number> = {};
  for (const [name, f] of Object.entries(subjects))
    bytes[name] = Math.round(await bytesPerCall(f, slow.has(name) ? 4000 : 20_000));
  oBreaker.shutdown();
  console.log(JSON.stringify(bytes));
} else if (phase !== undefined) {
  const names = phases[phase] ?? [];
  const ns = await nsPerCallInterleaved(
    Object.fromEntries(
      names.map((k) => [k, { f: subjects[k] as () => Promise<unknown>, n: slow.has(k) ? 4000 : 50_000 }]),
    ),
    30,
  );
  oBreaker.shutdown();
  console.log(JSON.stringify(ns));
} else {
  oBreaker.shutdown();
  const fast = JSON.parse(child({ BENCH_PHASE: 'fast' })) as Record<string, number>;
  const sig = JSON.parse(child({ BENCH_PHASE: 'signals' })) as Record<string, number>;
  const bytes = JSON.parse(
    child({ BENCH_PHASE: 'bytes' }, ['--min-semi-space-size=128', '--max-semi-space-size=128']),
  ) as Record<string, number>;
  const t = (k: string) => (fast[k] ?? sig[k]) as number;
  const b = t('bare');
  console.table(
    Object.keys(subjects).map((name) => {
      const inFast = fast[name] !== undefined;
      const v = inFast ? (fast[name] as number) : (sig[name] as number);
      const base = inFast ? (fast.bare as number) : (sig.bare as number);
      return {
        subject: name,
        phase: inFast ? 'fast' : 'signals',
        'ns/call': round(v),
        '× bare': round(v / base, 2),
        'bytes/call': bytes[name],
      };
    }),
  );
  const sb = sig.bare as number;
  const result = {
    bare_ns: round(b),
    observe_floor_ns: round(t('observe_floor')),
    breaker_ns: round(t('breaker')),
    composed_ns: round(t('composed')),
    cockatiel_breaker_ns: round(t('cockatiel_breaker')),
    opossum_breaker_timeout_ns: round(t('opossum_breaker_timeout')),
    signals_phase: {
      bare_ns: round(sb),
      composed_ns: round(sig.composed as number),
      signal_floor_ns: round(sig.signal_floor as number),
      composed_signal_ns: round(sig.composed_signal as number),
      cockatiel_composed_ns: round(sig.cockatiel_composed as number),
    },
    cockatiel_composed_ns: round(sig.cockatiel_composed as number),
    observe_floor_vs_bare: round(t('observe_floor') / b, 2),
    breaker_vs_bare: round(t('breaker') / b, 2),
    breaker_vs_observe_floor: round(t('breaker') / t('observe_floor'), 2),
    composed_vs_bare: round(t('composed') / b, 2),
    cockatiel_vs_composed: round((sig.cockatiel_composed as number) / (sig.composed as number), 1),
    cockatiel_vs_composed_signal: round(
      (sig.cockatiel_composed as number) / (sig.composed_signal as number),
      1,
    ),
    cockatiel_breaker_vs_breaker: round(t('cockatiel_breaker') / t('breaker'), 2),
    opossum_vs_composed: round(t('opossum_breaker_timeout') / t('composed'), 1),
    bytes_per_call: bytes,
    targets: {
      breaker_le_1_5x_bare: t('breaker') / b <= 1.5,
      composed_le_5x_bare: t('composed') / b <= 5,
      composed_ge_20x_faster_than_cockatiel:
        (sig.cockatiel_composed as number) / (sig.composed as number) >= 20,
    },
  };
  console.log(JSON.stringify(result));
}
