import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { TelemetryStore } from '../store/telemetry-store.js';
import type { TimeZone } from '../time/time-zone.js';
import { isGzipFile, readHead, readLines } from './byte-source.js';
import type { FileReportBuilder } from './file-report.js';
import { fileNamedServiceNote } from './file-service.js';
import { isObject, MESSAGE_KEYS, TIME_KEYS } from './json-fields.js';

// Keys the bulk path maps to columns, in order of preference (as the line-by-line reader does).
const LEVEL = ['level', 'severity', 'levelname', 'lvl'];
const SERVICE = ['service', 'serviceName', 'service_name', 'app', 'application'];
const INSTANCE = ['instance', 'pod', 'hostname', 'host', 'container'];
const REQUEST = ['request_id', 'requestId', 'req_id', 'reqId'];
const TRACE = ['trace_id', 'traceId', 'traceID'];
const SPAN = ['span_id', 'spanId', 'spanID'];
const SAMPLE_LINES = 1000;
/** Lines of the file's head whose messages are mined before the load. */
const MINED_HEAD_LINES = 20_000;
const HEAD_BYTES = 4 * 1024 * 1024;
/** Grouping keys: runs of digits masked; with ids in the messages, long hex runs too. */
const DIGITS = '[0-9]+';
const DIGITS_AND_HEX = '[0-9a-fA-F]{8,}|[0-9]+';
/** Share of distinct digit-masked messages in the head beyond which hex runs are masked too. */
const MAX_DISTINCT_SHARE = 0.2;
/** Prefix of the grouping key kept in `template_id` for a message the head did not cover. */
const UNMINED = '\u0001';
/** Distinct uncovered keys beyond which hex runs are masked too before grouping. */
const MAX_UNCOVERED_KEYS = 50_000;

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

interface Shape {
  readonly time: string;
  /** Messages of the head's lines, in order (for mining before the load). */
  readonly messages: readonly string[];
  /** When every sampled time is a JSON number of one unit: the factor to epoch ms. */
  readonly timeFactor: number | undefined;
  readonly keys: readonly string[];
  /** Keys every sampled line with a time has. */
  readonly denseKeys: ReadonlySet<string>;
  readonly pick: (candidates: readonly string[]) => string | undefined;
}

/** The key layout of the first lines, when they are flat JSON objects the bulk path can map. */
function sampleShape(head: Buffer): Shape | undefined {
  const lines = head.toString('utf8').split('\n');
  lines.pop();
  const keys = new Set<string>();
  const keyCounts = new Map<string, number>();
  let time: string | undefined;
  let n = 0;
  let timed = 0;
  const factors = new Set<number>();
  const parsed: Record<string, unknown>[] = [];
  for (const line of lines.slice(0, MINED_HEAD_LINES)) {
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isObject(obj)) continue;
    parsed.push(obj);
    if (parsed.length > SAMPLE_LINES) continue; // the shape comes from the first lines
    n++;
    for (const k of Object.keys(obj)) keys.add(k);
    const t = TIME_KEYS.find((k) => obj[k] !== undefined && obj[k] !== null);
    if (t === undefined) continue; // counted as rejected by the bulk load
    timed++;
    for (const k of Object.keys(obj)) keyCounts.set(k, (keyCounts.get(k) ?? 0) + 1);
    if (time === undefined) time = t;
    else if (time !== t) return undefined;
    const tv = obj[t];
    if (typeof tv !== 'number' && typeof tv !== 'string') return undefined;
    factors.add(typeof tv === 'number' ? (tv < 1e11 ? 1000 : tv < 1e14 ? 1 : tv < 1e17 ? 1e-3 : 1e-6) : 0);
    // nested service/host objects and OTel bodies need the line-by-line reader
    for (const k of ['service', 'host', 'body', 'log', 'trace', 'span'])
      if (isObject(obj[k])) return undefined;
  }
  if (n === 0 || time === undefined) return undefined;
  const [factor] = factors;
  const timeFactor = factors.size === 1 && factor !== 0 ? factor : undefined;
  const pick = (c: readonly string[]) => c.find((k) => keys.has(k));
  const messageKey = pick(MESSAGE_KEYS);
  const messages = parsed.map((obj) => {
    const v = messageKey === undefined ? undefined : obj[messageKey];
    return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  });
  // among the lines that will be stored (a rejected line does not make a key sparse)
  const denseKeys = new Set([...keyCounts].filter(([, c]) => c === timed).map(([k]) => k));
  return { time, timeFactor, messages, keys: [...keys], denseKeys, pick };
}

const EPOCH_MS = (col: string) => `CASE
  WHEN regexp_full_match(${col}, '\\s*\\d+(\\.\\d+)?\\s*') THEN (CASE
    WHEN TRY_CAST(${col} AS DOUBLE) < 1e11 THEN TRY_CAST(${col} AS DOUBLE) * 1000
    WHEN TRY_CAST(${col} AS DOUBLE) < 1e14 THEN TRY_CAST(${col} AS DOUBLE)
    WHEN TRY_CAST(${col} AS DOUBLE) < 1e17 THEN TRY_CAST(${col} AS DOUBLE) / 1e3
    ELSE TRY_CAST(${col} AS DOUBLE) / 1e6 END)
  ELSE epoch_us(TRY_CAST(${col} AS TIMESTAMPTZ)) / 1000.0 END`;

/** Epoch ms of a time column: the sampled unit directly, anything else through the general rule. */
function timeSql(col: string, factor: number | undefined): string {
  if (factor === undefined) return EPOCH_MS(col);
  const [lo, hi] =
    factor === 1000 ? [0, 1e11] : factor === 1 ? [1e11, 1e14] : factor === 1e-3 ? [1e14, 1e17] : [1e17, 1e30];
  const d = `TRY_CAST(${col} AS DOUBLE)`;
  return `CASE WHEN ${d} >= ${lo} AND ${d} < ${hi} THEN ${d} * ${factor} ELSE ${EPOCH_MS(col)} END`;
}

/** Level spellings stored as they are (the common case skips lower/trim, which cost per row). */
/**
 * Epoch ms of a time column read as DOUBLE (when every sampled time was a JSON number): the
 * sampled unit directly, another magnitude by the general rule; a negative number is no time.
 */
function numericTimeSql(col: string, factor: number): string {
  const [lo, hi] =
    factor === 1000 ? [0, 1e11] : factor === 1 ? [1e11, 1e14] : factor === 1e-3 ? [1e14, 1e17] : [1e17, 1e30];
  return `CASE WHEN ${col} >= ${lo} AND ${col} < ${hi} THEN ${col} * ${factor} WHEN ${col} < 0 THEN NULL
    WHEN ${col} < 1e11 THEN ${col} * 1000 WHEN ${col} < 1e14 THEN ${col} WHEN ${col} < 1e17 THEN ${col} / 1e3
    ELSE ${col} / 1e6 END`;
}

const LEVEL_DIRECT = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const LEVEL_SQL = (col: string) => `CASE ${col}
  WHEN '30' THEN 'info' WHEN '40' THEN 'warn' WHEN '50' THEN 'error' WHEN '20' THEN 'debug'
  ${LEVEL_DIRECT.map((l) => `WHEN '${l}' THEN '${l}'`).join(' ')}
  ELSE (CASE lower(trim(${col}))
  WHEN '10' THEN 'trace' WHEN '20' THEN 'debug' WHEN '30' THEN 'info' WHEN '40' THEN 'warn'
  WHEN '50' THEN 'error' WHEN '60' THEN 'fatal' WHEN 'warning' THEN 'warn' WHEN 'err' THEN 'error'
  WHEN 'critical' THEN 'fatal' WHEN 'crit' THEN 'fatal' WHEN 'panic' THEN 'fatal' WHEN 'notice' THEN 'info'
  WHEN 'information' THEN 'info' WHEN 'severe' THEN 'error' ELSE left(lower(trim(${col})), 32) END) END`;

/**
 * The fields no column holds, as a JSON object's text: each JSON-typed column is already its raw
 * JSON text, so the object is concatenated rather than rebuilt (json_object re-parses every value,
 * which cost about a fifth of the load). A key every sampled line has is written in one `concat`
 * (`null` when a line lacks it or holds null); the others only where present, since `concat`
 * skips NULL pieces. No field at all gives NULL.
 */
function attrsSql(extra: readonly string[], dense: ReadonlySet<string>): string {
  if (extra.length === 0) return 'NULL';
  const name = (k: string, before = '') => sqlString(`${before}${JSON.stringify(k)}:`);
  const always = extra.filter((k) => dense.has(k));
  const sometimes = extra.filter((k) => !dense.has(k));
  if (always.length === 0) {
    const members = sometimes.map((k) => `${name(k)} || ${ident(k)}::VARCHAR`);
    return `NULLIF('{' || concat_ws(',', ${members.join(', ')}) || '}', '{}')`;
  }
  const pieces = always.map(
    (k, i) => `${name(k, i === 0 ? '{' : ',')}, coalesce(${ident(k)}::VARCHAR, 'null')`,
  );
  const optional = sometimes.map((k) => `${name(k, ',')} || ${ident(k)}::VARCHAR`);
  return `concat(${[...pieces, ...optional, "'}'"].join(', ')})`;
}

/**
 * The DuckDB path for large JSON-lines log files: DuckDB's `read_json` parses the lines (in C++,
 * on every core) with explicit columns; templates are mined once per distinct digit-masked message.
 * Returns false (nothing stored) when the file's shape needs the line-by-line reader.
 */
export async function bulkLoadJsonLogs(
  store: TelemetryStore,
  path: string,
  fileId: number,
  report: FileReportBuilder,
  options: {
    zone: TimeZone;
    /** The service of every row when the file's lines name none (see `serviceOfFile`). */
    fallbackService?: string;
  },
): Promise<boolean> {
  if (options.zone.name !== 'UTC') return false; // zone-less ISO strings: the JS path applies --tz
  const { head } = await readHead(path, HEAD_BYTES);
  const shape = sampleShape(head);
  if (shape === undefined) return false;

  let source = path;
  let temp: string | undefined;
  if (await isGzipFile(path)) {
    temp = join(store.scratchDir, `bulk-${fileId}.jsonl`);
    try {
      await pipeline(createReadStream(path), createGunzip(), createWriteStream(temp));
    } catch (e) {
      report.gzipError = e instanceof Error ? e.message : String(e);
      report.notes.push('gzip stream ended early: kept what was read');
    }
    report.compressed = true;
    source = temp;
  }
  try {
    return await load(store, source, fileId, report, shape, options.fallbackService);
  } finally {
    if (temp !== undefined) await rm(temp, { force: true });
  }
}

async function load(
  store: TelemetryStore,
  source: string,
  fileId: number,
  report: FileReportBuilder,
  shape: Shape,
  fallbackService: string | undefined,
): Promise<boolean> {
  const known = new Map<string, string>(); // column alias -> key
  const use = (alias: string, candidates: readonly string[]) => {
    const key = shape.pick(candidates);
    if (key !== undefined) known.set(alias, key);
  };
  known.set('t', shape.time);
  use('lvl', LEVEL);
  use('msg', MESSAGE_KEYS);
  use('svc', SERVICE);
  use('inst', INSTANCE);
  use('req', REQUEST);
  use('tr', TRACE);
  use('sp', SPAN);
  if (!known.has('svc') && fallbackService !== undefined)
    report.notes.push(fileNamedServiceNote(fallbackService));
  const recognised = new Set(known.values());
  const extra = shape.keys.filter((k) => !recognised.has(k));
  const col = (alias: string) => {
    const key = known.get(alias);
    return key === undefined ? 'NULL' : ident(key);
  };
  // Times that were all JSON numbers in the head are read as numbers: reading them as text makes
  // DuckDB format each number and the load parse it back (a tenth of the load's CPU).
  const reader = (timeType: 'DOUBLE' | 'VARCHAR') =>
    `read_json(${sqlString(source)}, format = 'newline_delimited', ignore_errors = true,
      maximum_object_size = 16777216, columns = {${[
        ...[...known.values()].map(
          (k) => `${sqlString(k)}: ${k === shape.time ? `'${timeType}'` : "'VARCHAR'"}`,
        ),
        ...extra.map((k) => `${sqlString(k)}: 'JSON'`),
      ].join(', ')}})`;
  const msg = `coalesce(${col('msg')}, '')`;
  const db = store.connection;
  const t0 = performance.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${Math.round(performance.now() - t0)} ms`);
  const attrs = attrsSql(extra, shape.denseKeys);
  // Templates of the head's messages are mined first, so that the load itself gives most rows their
  // template id (a hash join on the masked message); a row the head did not cover keeps its
  // grouping key, marked, and is mined after the load. No pass rewrites every row.
  const mine = await store.bulkMiner();
  const headKeys = new Map<string, string>();
  let pattern = DIGITS;
  let re = new RegExp(pattern, 'g');
  for (const candidate of [DIGITS, DIGITS_AND_HEX]) {
    pattern = candidate;
    re = new RegExp(candidate, 'g');
    headKeys.clear();
    for (const m of shape.messages) {
      const key = m.replace(re, '0');
      if (!headKeys.has(key)) headKeys.set(key, m);
    }
    if (headKeys.size <= Math.max(100, shape.messages.length * MAX_DISTINCT_SHARE)) break;
  }
  const templateOfKey = new Map([...headKeys].map(([key, rep]) => [key, mine(rep)] as const));
  await db.run('CREATE OR REPLACE TEMP TABLE bulk_map(mkey VARCHAR, template_id VARCHAR)');
  await appendPairs(db, 'bulk_map', templateOfKey);
  // When the head's messages mostly repeat exactly (structured logs whose message is a constant,
  // the variables in fields), a lookup of the whole message's hash spares most rows the mask, the
  // costliest expression of the load (a regular expression over every message).
  const exact = exactMessages(shape.messages);
  if (exact !== undefined) {
    await db.run('CREATE OR REPLACE TEMP TABLE bulk_exact_msg(msg VARCHAR, template_id VARCHAR)');
    await appendPairs(
      db,
      'bulk_exact_msg',
      [...exact].map((m) => [m, templateOfKey.get(m.replace(re, '0')) ?? ''] as const),
    );
  }
  phase('head');
  const numeric = shape.timeFactor !== undefined;
  const mask = (text: string) => `regexp_replace(${text}, ${sqlString(pattern)}, '0', 'g')`;
  /**
   * One pass over the file into `logs`: every row (`numbers`: times read as JSON numbers), or
   * `text-times`: only the rows whose time is text that is not a number (an ISO time among epoch
   * numbers), which the `numbers` pass could not read.
   */
  const insertRows = async (pass: 'numbers' | 'text' | 'text-times') => {
    const t = col('t');
    const time = pass === 'numbers' ? numericTimeSql(t, shape.timeFactor ?? 1) : timeSql(t, shape.timeFactor);
    const svc = known.has('svc') || fallbackService === undefined ? col('svc') : sqlString(fallbackService);
    const columns = `${time} AS t, ${svc} AS svc, ${col('inst')} AS inst,
      ${known.has('lvl') ? LEVEL_SQL(col('lvl')) : 'NULL'} AS lvl, ${msg} AS msg, ${col('req')} AS req,
      ${col('tr')} AS tr, ${col('sp')} AS sp, ${attrs} AS attrs`;
    const from = `${reader(pass === 'numbers' ? 'DOUBLE' : 'VARCHAR')}${
      pass === 'text-times' ? ` WHERE ${t} IS NOT NULL AND TRY_CAST(${t} AS DOUBLE) IS NULL` : ''
    }`;
    const keyed =
      exact === undefined
        ? `(SELECT ${columns}, NULL AS tid, ${mask(msg)} AS mkey FROM ${from})`
        : // joined on the message itself: as cheap as on a hash of it here, and no collisions
          `(SELECT r.*, e.template_id AS tid, CASE WHEN e.template_id IS NULL THEN ${mask('r.msg')} END AS mkey
            FROM (SELECT ${columns} FROM ${from}) r LEFT JOIN bulk_exact_msg e ON r.msg = e.msg)`;
    // DuckDB guesses a few dozen rows for read_json, so with more templates than that it would
    // build the join's hash table from the whole file instead of the small map: keep the side written
    await db.run(`SET disabled_optimizers = 'build_side_probe_side'`);
    try {
      const inserted = await db.run(`INSERT INTO logs
        SELECT x.t, x.svc, x.inst, x.lvl, x.msg, coalesce(x.tid, m.template_id, ${sqlString(UNMINED)} || x.mkey),
          x.req, x.tr, x.sp, x.attrs, ${fileId}, NULL
        FROM ${keyed} x LEFT JOIN bulk_map m ON x.mkey = m.mkey`);
      return Number(inserted.rowsChanged);
    } finally {
      await db.run('RESET disabled_optimizers');
    }
  };
  let rejected = 0;
  let secondPass = 0;
  let removedTimeless = 0;
  let unmined = 0;
  try {
    await insertRows(numeric ? 'numbers' : 'text');
    phase('read');
    if (numeric) {
      // rows that hold a record but no numeric time: an ISO time among epoch numbers (or no time at
      // all); only then is the file read again for the rows whose time is text
      const timeless = await store.query(`SELECT count(*)::DOUBLE AS n FROM logs WHERE file_id = ${fileId}
        AND t_ms IS NULL AND (message <> '' OR service IS NOT NULL OR level IS NOT NULL OR attrs IS NOT NULL)`);
      if (Number(timeless[0]?.n ?? 0) > 0) {
        await db.run(`DELETE FROM logs WHERE file_id = ${fileId} AND t_ms IS NULL AND (message <> ''
          OR service IS NOT NULL OR level IS NOT NULL OR attrs IS NOT NULL)`);
        secondPass = await insertRows('text-times');
        removedTimeless = Number(timeless[0]?.n ?? 0);
        phase('times as text');
      }
    }
    // one scan for the report's figures and for whether any row awaits mining; the DELETE (another
    // scan) only when some rows lack a time
    const stats = await store.query(`SELECT count(*) FILTER (WHERE t_ms IS NULL)::DOUBLE AS bad,
        count(t_ms)::DOUBLE AS ok, min(t_ms) AS lo, max(t_ms) AS hi,
        count(*) FILTER (WHERE t_ms IS NOT NULL AND starts_with(template_id, ${sqlString(UNMINED)}))::DOUBLE AS unmined,
        list_sort(list(DISTINCT service) FILTER (WHERE t_ms IS NOT NULL))[1:10000] AS services
      FROM logs WHERE file_id = ${fileId}`);
    const row = stats[0] ?? {};
    const bad = Number(row.bad ?? 0);
    unmined = Number(row.unmined ?? 0);
    phase(`stats (${unmined} to mine)`);
    if (bad > 0) await db.run(`DELETE FROM logs WHERE file_id = ${fileId} AND t_ms IS NULL`);
    // the records the first pass could not time and the second did not read (no time key at all)
    // are rejected too; the second pass's own failures are among `bad`
    rejected = bad + removedTimeless - secondPass;
    const ok = Number(row.ok ?? 0);
    report.records = ok;
    if (ok > 0) {
      report.fromMs = Number(row.lo);
      report.toMs = Number(row.hi);
    }
    for (const s of Array.isArray(row.services) ? row.services : []) report.services.add(String(s));
  } catch (e) {
    report.notes.push(
      `DuckDB reader failed (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); read line by line`,
    );
    await db.run(`DELETE FROM logs WHERE file_id = ${fileId}`);
    report.records = 0;
    report.fromMs = Number.POSITIVE_INFINITY;
    report.toMs = Number.NEGATIVE_INFINITY;
    report.services.clear();
    return false;
  }
  try {
    if (unmined > 0) await mineUncovered(store, fileId, mine);
    phase('mine');
    if (rejected > 0) await sampleRejects(source, rejected, report);
    phase('done');
    report.notes.push(
      `read by DuckDB read_json (bulk path${exact === undefined ? '' : ', exact messages looked up first'}: ${phases.join(', ')})`,
    );
    report.bytes = (await stat(source)).size;
    return true;
  } finally {
    await db.run('DROP TABLE IF EXISTS bulk_map');
    await db.run('DROP TABLE IF EXISTS bulk_exact_msg');
    await db.run('DROP TABLE IF EXISTS bulk_keys');
    await db.run('DROP TABLE IF EXISTS bulk_templates');
  }
}

type Connection = TelemetryStore['connection'];

/** Share of the head's lines whose message repeats an earlier one, from which exact lookups pay. */
const MIN_REPEAT_SHARE = 0.5;

/** The head's distinct messages, when most of its lines repeat one exactly; else undefined. */
export function exactMessages(messages: readonly string[]): Set<string> | undefined {
  const seen = new Set<string>();
  for (const m of messages) seen.add(m);
  const repeats = messages.length - seen.size;
  return messages.length > 0 && repeats >= messages.length * MIN_REPEAT_SHARE ? seen : undefined;
}

async function appendPairs(
  db: Connection,
  table: string,
  pairs: Iterable<readonly [string, string]>,
): Promise<void> {
  const appender = await db.createAppender(table, 'main', 'temp');
  for (const [a, b] of pairs) {
    appender.appendVarchar(a);
    appender.appendVarchar(b);
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
}

/**
 * Mines the rows of `fileId` the head's templates did not cover (their `template_id` still holds
 * the marked grouping key): one representative per key, then only those rows are rewritten. When
 * the keys are too many (ids the digit mask left in), hex runs are masked too before grouping.
 */
async function mineUncovered(store: TelemetryStore, fileId: number, mine: (message: string) => string) {
  const db = store.connection;
  const uncovered = `file_id = ${fileId} AND starts_with(template_id, ${sqlString(UNMINED)})`;
  const keysSql = `CREATE OR REPLACE TEMP TABLE bulk_keys AS
    SELECT template_id AS mkey, any_value(message) AS rep FROM logs WHERE ${uncovered} GROUP BY 1`;
  await db.run(keysSql);
  const distinct = await store.query('SELECT count(*)::DOUBLE AS n FROM bulk_keys');
  const n = Number(distinct[0]?.n ?? 0);
  if (n === 0) return;
  if (n > MAX_UNCOVERED_KEYS) {
    await db.run(`UPDATE logs SET template_id = ${sqlString(UNMINED)} ||
        regexp_replace(message, ${sqlString(DIGITS_AND_HEX)}, '0', 'g') WHERE ${uncovered}`);
    await db.run(keysSql);
  }
  await db.run('CREATE OR REPLACE TEMP TABLE bulk_templates(mkey VARCHAR, template_id VARCHAR)');
  const pairs: [string, string][] = [];
  const reps = await db.stream('SELECT mkey, rep FROM bulk_keys');
  for (;;) {
    const chunk = await reps.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    for (const [mkey, rep] of chunk.getRows()) pairs.push([String(mkey), mine(String(rep))]);
  }
  await appendPairs(db, 'bulk_templates', pairs);
  await db.run(`UPDATE logs SET template_id = k.template_id FROM bulk_templates k
    WHERE logs.file_id = ${fileId} AND logs.template_id = k.mkey`);
}

/**
 * Quotes the first few rejected lines: a cheap JS pass (lines that do not look like a JSON object
 * are parsed to confirm); lines that look like objects but failed in DuckDB are counted, not quoted.
 */
async function sampleRejects(source: string, rejected: number, report: FileReportBuilder): Promise<void> {
  const reason = 'invalid JSON or no time field';
  let quoted = 0;
  const controller = new AbortController();
  try {
    await readLines(
      source,
      {
        line(text, lineNo) {
          if (quoted >= 5) return controller.abort();
          const t = text.trim();
          if (t === '') return;
          if (t[0] === '{' && t[t.length - 1] === '}') return;
          report.reject(lineNo, reason, text);
          quoted++;
        },
        oversize(lineNo, bytes, head) {
          report.reject(lineNo, reason, `${head} (${bytes} bytes)`);
          quoted++;
        },
      },
      { maxLineBytes: 16 * 1024 * 1024, signal: controller.signal },
    );
  } catch {
    // aborted after enough samples
  }
  if (rejected > quoted)
    report.reject(0, reason, '(not quoted: looks like a JSON object)', rejected - quoted);
}
