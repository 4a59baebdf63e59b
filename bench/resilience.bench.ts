/**
 * Per-call overhead of the policies on the success path, against a bare async call and against
 * cockatiel 3 and opossum 9 doing the same in the same process.
 * Targets (issue #2): breaker ≤ 1.5× bare; retry+breaker+timeout ≤ 5× bare and ≥ 20× faster than
 * cockatiel's same composition.
 */
import { circuitBreaker, retry, timeout, wrap } from '@faultline/resilience';
import * as cockatiel from 'cockatiel';
import Opossum from 'opossum';
import { bytesPerCall, nsPerCall, round } from './lib/measure.js';

const value = { ok: true };
const bare = async () => value;

// faultline
const fBreaker = circuitBreaker();
const fComposed = wrap(retry({ maxRetries: 2 }), circuitBreaker(), timeout(1000));
// cockatiel: the same composition (retry 2 times, consecutive breaker, cooperative timeout)
const cRetry = cockatiel.retry(cockatiel.handleAll, {
  maxAttempts: 2,
  backoff: new cockatiel.ExponentialBackoff(),
});
const cBreaker = cockatiel.circuitBreaker(cockatiel.handleAll, {
  halfOpenAfter: 30_000,
  breaker: new cockatiel.ConsecutiveBreaker(5),
});
const cTimeout = cockatiel.timeout(1000, cockatiel.TimeoutStrategy.Cooperative);
const cComposed = cockatiel.wrap(cRetry, cBreaker, cTimeout);
const cBreakerAlone = cockatiel.circuitBreaker(cockatiel.handleAll, {
  halfOpenAfter: 30_000,
  breaker: new cockatiel.ConsecutiveBreaker(5),
});
// opossum: a breaker with its built-in timeout (it has no retry)
const oBreaker = new Opossum(bare, { timeout: 1000, errorThresholdPercentage: 50, resetTimeout: 30_000 });

const subjects = {
  bare: () => bare(),
  breaker: () => fBreaker.execute(bare),
  composed: () => fComposed.execute(bare),
  // the same, with work that reads its signal (as fetch or pg would): the AbortController is real
  composed_signal: () =>
    fComposed.execute(({ signal }) => (signal.aborted ? Promise.reject(signal.reason) : bare())),
  cockatiel_breaker: () => cBreakerAlone.execute(bare),
  cockatiel_composed: () => cComposed.execute(bare),
  opossum_breaker_timeout: () => oBreaker.fire(),
} as const;

const ns: Record<string, number> = {};
const bytes: Record<string, number> = {};
// Two passes, interleaved, keeping each subject's best median: the machine is shared.
for (let pass = 0; pass < 2; pass++) {
  for (const [name, f] of Object.entries(subjects)) {
    const slow = name.startsWith('cockatiel') || name.startsWith('opossum');
    const t = await nsPerCall(f, slow ? 50_000 : 500_000, slow ? 5 : 7);
    ns[name] = Math.min(ns[name] ?? Number.POSITIVE_INFINITY, t);
  }
}
for (const [name, f] of Object.entries(subjects)) bytes[name] = await bytesPerCall(f);

const b = ns.bare as number;
const rows = Object.keys(subjects).map((name) => ({
  subject: name,
  'ns/call': round(ns[name] as number),
  '× bare': round((ns[name] as number) / b, 2),
  'bytes/call': Math.round(bytes[name] as number),
}));
console.table(rows);

const result = {
  bare_ns: round(b),
  breaker_ns: round(ns.breaker as number),
  composed_ns: round(ns.composed as number),
  composed_signal_ns: round(ns.composed_signal as number),
  cockatiel_breaker_ns: round(ns.cockatiel_breaker as number),
  cockatiel_composed_ns: round(ns.cockatiel_composed as number),
  opossum_breaker_timeout_ns: round(ns.opossum_breaker_timeout as number),
  breaker_vs_bare: round((ns.breaker as number) / b, 2),
  composed_vs_bare: round((ns.composed as number) / b, 2),
  cockatiel_vs_composed: round((ns.cockatiel_composed as number) / (ns.composed as number), 1),
  opossum_vs_composed: round((ns.opossum_breaker_timeout as number) / (ns.composed as number), 1),
  bytes_per_call: Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, Math.round(v)])),
  targets_met: {
    breaker_le_1_5x_bare: (ns.breaker as number) / b <= 1.5,
    composed_le_5x_bare: (ns.composed as number) / b <= 5,
    composed_ge_20x_faster_than_cockatiel: (ns.cockatiel_composed as number) / (ns.composed as number) >= 20,
  },
};
oBreaker.shutdown();
console.log(JSON.stringify(result));
