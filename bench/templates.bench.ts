/**
 * Log template mining: grouping accuracy on Loghub's ten 2k samples beside Drain's published
 * figures, and mining throughput on synthetic but realistic messages (numbers, ids, IPs, UUIDs,
 * durations, paths, URLs, user names, key=value pairs; most lines unique, as in real logs).
 * Targets (issue #6): mean GA ≥ 0.94, each system at least Drain's figure.
 */
import { createTemplateMiner } from '@faultline/forensics';
import { DRAIN_GA, measureTemplateAccuracy } from './lib/loghub-accuracy.js';
import { round } from './lib/measure.js';

const { perSystem, mean } = await measureTemplateAccuracy();
const drainMean = Object.values(DRAIN_GA).reduce((a, b) => a + b, 0) / Object.keys(DRAIN_GA).length;
console.log('system       GA      Drain   Δ');
for (const [system, ga] of Object.entries(perSystem)) {
  const drain = DRAIN_GA[system];
  const delta = drain === undefined ? '' : `${ga - drain >= 0 ? '+' : ''}${(ga - drain).toFixed(4)}`;
  console.log(`${system.padEnd(12)} ${ga.toFixed(4)}  ${drain?.toFixed(4) ?? '   -  '}  ${delta}`);
}
console.log(`${'mean'.padEnd(12)} ${mean.toFixed(4)}  ${drainMean.toFixed(4)}`);

// --- throughput -------------------------------------------------------------------------------

/** Small fast PRNG (mulberry32) so that every run mines the same messages. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(42);
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
const hex = (n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)];
  return s;
};
const ip = () => `${10 + int(200)}.${int(256)}.${int(256)}.${int(256)}`;
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory', 'trent', 'admin', 'root'];
const services = ['orders', 'payments', 'users', 'inventory', 'shipping', 'auth', 'search'];
const methods = ['GET', 'POST', 'PUT', 'DELETE'];

const makers: ReadonlyArray<() => string> = [
  () => `DB connection timeout after ${int(5000)}ms`,
  () => `request ${uuid()} completed in ${int(900)}ms with status ${pick([200, 201, 204, 404, 500])}`,
  () =>
    `${pick(methods)} /api/v1/${pick(services)}/${int(100000)} ${pick([200, 404, 500])} ${(rnd() * 3).toFixed(3)}s`,
  () => `Accepted publickey for ${pick(users)} from ${ip()} port ${1024 + int(60000)} ssh2`,
  () => `Failed password for invalid user ${pick(users)} from ${ip()} port ${1024 + int(60000)} ssh2`,
  () => `connection from ${ip()}:${1024 + int(60000)} closed by peer`,
  () => `user=${pick(users)} action=login ip=${ip()} latency_ms=${int(400)} ok=true`,
  () => `Retrying call to ${pick(services)} (attempt ${1 + int(5)} of 5) after ${int(2000)}ms backoff`,
  () => `Circuit breaker for ${pick(services)} opened after ${int(50)} failures in ${int(60)}s`,
  () => `Wrote checkpoint to /var/lib/app/checkpoints/${hex(12)}.bin (${int(1 << 20)} bytes)`,
  () => `cache miss for key session:${hex(16)} in region ${pick(['eu-west-1', 'us-east-2', 'ap-south-1'])}`,
  () => `GC pause ${(rnd() * 200).toFixed(1)}ms heap ${int(4096)}MB -> ${int(4096)}MB`,
  () => `Sending notification to ${pick(users)}@example.com via smtp://mail.example.com:25`,
  () => `worker ${int(32)} picked job ${uuid()} from queue ${pick(['default', 'high', 'low'])}`,
  () => `Upstream ${ip()}:${8000 + int(100)} marked unhealthy after ${int(10)} consecutive failures`,
  () => `Loaded configuration from /etc/app/${pick(services)}.yaml in ${int(40)}ms`,
  () => `pool ${pick(services)}: ${int(100)} active, ${int(100)} idle, ${int(20)} waiting`,
  () => `Slow query took ${(rnd() * 10).toFixed(2)}s: SELECT * FROM ${pick(services)} WHERE id = ${int(1e6)}`,
  () => `rate limit exceeded for client ${hex(24)} (${int(1000)} req/min)`,
  () => `Healthcheck OK`,
];
const total = Number(process.env.TEMPLATES_BENCH_LINES ?? 1_500_000);
const generated: string[] = new Array(total);
for (let i = 0; i < total; i++) generated[i] = (makers[int(makers.length)] as () => string)();
// as read from a file: flat strings sliced from one text, not concatenation trees
const messages = generated.join('\n').split('\n');

const miner = createTemplateMiner();
// warm up on the first slice (JIT), then measure the whole run with a fresh miner
for (let i = 0; i < 50_000; i++) miner.mine(messages[i] as string);
const fresh = createTemplateMiner();
const t0 = performance.now();
for (let i = 0; i < total; i++) fresh.mine(messages[i] as string);
const seconds = (performance.now() - t0) / 1000;
const linesPerS = total / seconds;
const groups = fresh.templates().length;
console.log(
  `\nmined ${total.toLocaleString('en')} synthetic messages (${makers.length} templates) in ${seconds.toFixed(2)} s: ` +
    `${Math.round(linesPerS).toLocaleString('en')} lines/s, ${groups} groups`,
);

console.log(
  JSON.stringify({
    template_mean_ga: round(mean, 4),
    drain_mean_ga: round(drainMean, 4),
    template_ga: Object.fromEntries(Object.entries(perSystem).map(([k, v]) => [k, round(v, 4)])),
    template_lines_per_s: Math.round(linesPerS),
    template_groups: groups,
    synthetic_templates: makers.length,
  }),
);
