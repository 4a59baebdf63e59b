/**
 * Ingestion of @faultline/forensics against the physical limit and against DuckDB alone.
 * - 10 M generated pino-style JSON lines (FAULTLINE_BENCH_LINES scales it down): our ingest
 *   (`investigate`, templates included, in a child process for its peak RSS) vs reading and
 *   splitting the same file into lines without parsing, vs DuckDB's `read_json` with explicit
 *   columns into an in-memory table.
 * - One Nezha Train-Ticket case (logs, metrics, OTLP spans) end to end.
 * - 10 M logs + 1 M spans + 5,000 series (scaled alike): peak RSS of the ingest.
 * Targets (issue #6): ≥ 1 M lines/s, peak RSS ≤ 2 GB, Nezha case ≤ 2 s, template mean GA ≥ 0.94.
 * The 1 M lines/s was set where DuckDB's read_json read 2.2 M lines/s; DuckDB and our ingest run
 * twice each, interleaved, so the same bar can be read on this machine (DuckDB's rate / 2.2).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { investigate } from '@faultline/forensics';

const here = fileURLToPath(import.meta.url);

async function child(paths: string[]): Promise<void> {
  const started = performance.now();
  const { store, report } = await investigate(paths);
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ seconds, maxRssMb, totals: report.totals }));
}

if (process.argv[2] === 'child') {
  await child(process.argv.slice(3));
  process.exit(0);
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const LINES = Math.max(1000, Number(process.env.FAULTLINE_BENCH_LINES ?? 10_000_000));
const scale = LINES / 10_000_000;
const SPANS = Math.max(1000, Math.round(1_000_000 * scale));
const SERIES = Math.max(50, Math.round(5000 * scale));
const dir = await mkdtemp(join(tmpdir(), 'faultline-ingest-bench-'));
process.on('exit', () => {
  try {
    execFileSync('rm', ['-rf', dir]);
  } catch {
    // already gone
  }
});

async function writeLines(path: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let batch: string[] = [];
  for (let i = 0; i < count; i++) {
    batch.push(line(i));
    if (batch.length === 5000) {
      if (!out.write(`${batch.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
      batch = [];
    }
  }
  await new Promise<void>((resolve, reject) => {
    out.end(batch.length > 0 ? `${batch.join('\n')}\n` : '', () => resolve());
    out.once('error', reject);
  });
}

const SERVICES = ['api', 'orders', 'payments', 'cart', 'inventory', 'auth', 'gateway', 'search'];
const ROUTES = ['/api/orders', '/api/cart', '/api/pay', '/health', '/api/search?q=shoes'];
const T0 = 1_700_000_000_000;
const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);
function message(i: number): string {
  switch (i % 8) {
    case 0:
      return `request completed in ${(i * 7) % 900}ms`;
    case 1:
      return `DB connection timeout after ${3000 + (i % 50)}ms (pool 48/50)`;
    case 2:
      return `user ${(i * 7919) % 100_000} logged in from 10.0.${i % 255}.${i % 7}`;
    case 3:
      return `cache miss for key order:${i}`;
    case 4:
      return `retrying call to payments attempt ${1 + (i % 3)} of 3`;
    case 5:
      return `GET ${ROUTES[i % ROUTES.length]} 200`;
    case 6:
      return `health check ok`;
    default:
      return `queue depth ${i % 1000} above threshold`;
  }
}
function pinoLine(i: number): string {
  const svc = SERVICES[i % SERVICES.length];
  const level = i % 97 === 0 ? 50 : i % 13 === 0 ? 40 : 30;
  return `{"level":${level},"time":${T0 + i},"pid":${1000 + (i % 4)},"hostname":"node-${i % 3}","service":"${svc}","instance":"${svc}-${i % 2}","request_id":"req-${hex(i, 8)}","trace_id":"${hex(i * 2654435761, 8)}${hex(i, 8)}aabbccdd00112233","span_id":"${hex(i * 40503, 8)}${hex(i, 8)}","route":"${ROUTES[i % ROUTES.length]}","status":${level === 50 ? 500 : 200},"msg":"${message(i)}"}`;
}

function runChild(paths: string[]): { seconds: number; maxRssMb: number; totals: Record<string, number> } {
  const out = execFileSync(process.execPath, [here, 'child', ...paths], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const last = out.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as { seconds: number; maxRssMb: number; totals: Record<string, number> };
}

// 1. generate
const logsFile = join(dir, 'app.jsonl');
let t = performance.now();
await writeLines(logsFile, LINES, pinoLine);
const bytes = (await stat(logsFile)).size;
console.log(
  `generated ${LINES} lines, ${round(bytes / 1e6)} MB in ${round((performance.now() - t) / 1000, 1)} s`,
);
// the file's dirty pages are written back before anything is timed: writeback of 2.8 GB running
// under the first measurements slowed whichever ran first
execFileSync('sync');

// 2. physical limit: read and split into lines (newline scan), no parsing
t = performance.now();
let newlines = 0;
for await (const chunk of createReadStream(logsFile, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
  let at = chunk.indexOf(10);
  while (at >= 0) {
    newlines++;
    at = chunk.indexOf(10, at + 1);
  }
}
const limitSeconds = (performance.now() - t) / 1000;
const limitLinesPerS = newlines / limitSeconds;
console.log(`read + split: ${round(limitLinesPerS)} lines/s`);

// 3. DuckDB alone: read_json with explicit columns into an in-memory table, measured just before
// and just after our ingest (this VM's speed drifts within minutes; the mean of the two is used)
async function duckdbLinesPerS(): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: '1GB',
    preserve_insertion_order: 'false',
  });
  const c = await instance.connect();
  const started = performance.now();
  await c.run(`CREATE TABLE logs AS SELECT * FROM read_json('${logsFile}', format = 'newline_delimited',
    columns = {level: 'INTEGER', time: 'DOUBLE', service: 'VARCHAR', instance: 'VARCHAR', request_id: 'VARCHAR',
      trace_id: 'VARCHAR', span_id: 'VARCHAR', msg: 'VARCHAR'})`);
  const rate = LINES / ((performance.now() - started) / 1000);
  c.closeSync();
  instance.closeSync();
  return rate;
}
const duckBefore = await duckdbLinesPerS();

// 4. our ingest, in a child process, interleaved with DuckDB: DuckDB, ours, DuckDB, ours (this
// VM's speed drifts by ±20 % within minutes; each side's rate is the mean of its two runs)
const first = runChild([logsFile]);
const duckAfter = await duckdbLinesPerS();
const second = runChild([logsFile]);
const ours = { ...second, maxRssMb: Math.max(first.maxRssMb, second.maxRssMb) };
const linesPerS = (LINES / first.seconds + LINES / second.seconds) / 2;
const duckLinesPerS = (duckBefore + duckAfter) / 2;
console.log(
  `DuckDB read_json (explicit columns, into a table): ${round(duckLinesPerS)} lines/s (${round(duckBefore)} and ${round(duckAfter)})`,
);
console.log(
  `faultline ingest: ${round(linesPerS)} lines/s (${round(first.seconds, 2)} s and ${round(second.seconds, 2)} s, peak RSS ${round(ours.maxRssMb)} MB, ${ours.totals.templates} templates)`,
);

// 4b. the same reader on a file with a few hundred message shapes, as a real service's logs have
// (the main file has eight): a fifth of the lines, every message with a number in it
const WORDS = ['order', 'cart', 'payment', 'user', 'session', 'cache', 'queue', 'retry', 'pool', 'token'];
const SHAPES = 300;
function shapedMessage(i: number): string {
  const k = i % SHAPES;
  const words = [WORDS[k % 10], WORDS[Math.floor(k / 10) % 10], 'step'.repeat(1 + (Math.floor(k / 100) % 3))];
  return `${words.join(' ')} ${(i * 7919) % 1000} done in ${i % 997}ms`;
}
const manyFile = join(dir, 'many.jsonl');
const MANY_LINES = Math.max(1000, Math.round(LINES / 5));
await writeLines(manyFile, MANY_LINES, (i) =>
  pinoLine(i).replace(/"msg":"[^"]*"/, `"msg":"${shapedMessage(i)}"`),
);
execFileSync('sync');
const many = runChild([manyFile]);
const manyLinesPerS = MANY_LINES / many.seconds;
console.log(
  `faultline ingest, ${SHAPES} message shapes: ${round(manyLinesPerS)} lines/s (${MANY_LINES} lines, ${round(many.seconds, 2)} s, ${many.totals.templates} templates)`,
);
await rm(manyFile, { force: true });

// 5. one Nezha case
const nezha = fileURLToPath(new URL('../../shared/data/nezha-trainticket-dev/2023-01-29_0', import.meta.url));
let nezhaSeconds: number | undefined;
if (existsSync(nezha)) {
  const r = runChild([nezha]);
  nezhaSeconds = r.seconds;
  console.log(
    `Nezha case 2023-01-29_0: ${round(r.seconds, 2)} s (${r.totals.logs} logs, ${r.totals.spans} spans, ${r.totals.samples} samples)`,
  );
}

// 6. logs + spans + series together: peak RSS
const spansFile = join(dir, 'spans.otlp.jsonl');
await writeLines(spansFile, Math.ceil(SPANS / 1000), (line) => {
  const spans: string[] = [];
  for (let k = 0; k < 1000; k++) {
    const i = line * 1000 + k;
    const start = (T0 + i) * 1e6;
    spans.push(
      `{"traceId":"${hex(i >> 2, 16)}${hex(i >> 2, 16)}","spanId":"${hex(i, 16)}","parentSpanId":"${i % 4 === 0 ? '' : hex(i - 1, 16)}","name":"GET /api","kind":${i % 4 === 0 ? 2 : 3},"startTimeUnixNano":"${start}","endTimeUnixNano":"${start + 5e6}","status":{"code":${i % 101 === 0 ? 2 : 0}}}`,
    );
  }
  const svc = SERVICES[line % SERVICES.length];
  return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"${svc}"}}]},"scopeSpans":[{"scope":{"name":"bench"},"spans":[${spans.join(',')}]}]}]}`;
});
const metricsFile = join(dir, 'metrics.jsonl');
await writeLines(metricsFile, SERIES, (s) => {
  const values: string[] = [];
  for (let k = 0; k < 360; k++) values.push(`[${T0 / 1000 + k},"${((s * 31 + k) % 1000) / 10}"]`);
  return `{"metric":{"__name__":"m_${s % 50}","service":"${SERVICES[s % SERVICES.length]}","instance":"i-${s}"},"values":[${values.join(',')}]}`;
});
const mixed = runChild([logsFile, spansFile, metricsFile]);
console.log(
  `${LINES} logs + ${SPANS} spans + ${SERIES} series: ${round(mixed.seconds, 2)} s, peak RSS ${round(mixed.maxRssMb)} MB`,
);
await rm(dir, { recursive: true, force: true });

// 7. template grouping accuracy on Loghub (the templates benchmark's figure, for the record)
let templateMeanGa: number | undefined;
try {
  const { measureTemplateAccuracy } = await import('./lib/loghub-accuracy.js');
  templateMeanGa = (await measureTemplateAccuracy()).mean;
} catch (e) {
  console.log(`template accuracy not measured: ${e instanceof Error ? e.message : String(e)}`);
}

const result = {
  lines: LINES,
  lines_per_s: round(linesPerS),
  limit_lines_per_s: round(limitLinesPerS),
  duckdb_lines_per_s: round(duckLinesPerS),
  ratio_to_limit: round(linesPerS / limitLinesPerS, 3),
  duckdb_first_lines_per_s: round(duckBefore),
  duckdb_second_lines_per_s: round(duckAfter),
  first_lines_per_s: round(LINES / first.seconds),
  second_lines_per_s: round(LINES / second.seconds),
  ratio_to_duckdb: round(linesPerS / duckLinesPerS, 3),
  many_shapes_lines_per_s: round(manyLinesPerS),
  peak_rss_mb: round(Math.max(ours.maxRssMb, mixed.maxRssMb)),
  logs_peak_rss_mb: round(ours.maxRssMb),
  mixed_peak_rss_mb: round(mixed.maxRssMb),
  mixed_s: round(mixed.seconds, 2),
  ...(nezhaSeconds === undefined ? {} : { nezha_case_s: round(nezhaSeconds, 3) }),
  ...(templateMeanGa === undefined ? {} : { template_mean_ga: round(templateMeanGa, 4) }),
  // The 1 M lines/s target was set on a machine where DuckDB's read_json with explicit columns
  // read 2.2 M lines/s: on a machine with fewer cores, the same bar is 1/2.2 of DuckDB's rate here.
  targets: {
    lines_per_s_ge_1m: linesPerS >= 1_000_000,
    lines_per_s_ge_duckdb_over_2_2: linesPerS >= duckLinesPerS / 2.2,
    peak_rss_le_2gb: Math.max(ours.maxRssMb, mixed.maxRssMb) <= 2048,
    nezha_case_le_2s: nezhaSeconds !== undefined && nezhaSeconds <= 2,
    template_mean_ga_ge_0_94: templateMeanGa !== undefined && templateMeanGa >= 0.94,
  },
};
console.log(JSON.stringify(result));
