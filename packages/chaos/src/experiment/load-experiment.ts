import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type {
  Action,
  ActionBase,
  ExperimentDefinition,
  HttpFaultAction,
  HttpFaultMatch,
  Probe,
  ProcessLimits,
  ProxyOperation,
  Range,
  SteadyState,
  ToxicSpec,
} from './definition.js';
import { ExperimentError } from './errors.js';

type Path = readonly (string | number)[];

/** A validation failure at a field; turned into an ExperimentError with file and line. */
class InvalidField {
  constructor(
    readonly path: Path,
    readonly problem: string,
  ) {}
}

function fail(path: Path, problem: string): never {
  throw new InvalidField(path, problem);
}

/** `method[2].add.type` */
export function fieldPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}

/**
 * Reads and validates an experiment file, YAML or JSON (recognised by content).
 * @example const def = await loadExperiment('experiments/db-latency.yaml');
 * @throws ExperimentError naming the file, the line where known, and the field
 */
export async function loadExperiment(path: string): Promise<ExperimentDefinition> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw new ExperimentError(`cannot read the experiment file (${why})`, { file: path });
  }
  return parseExperiment(text, { file: path });
}

/**
 * Parses and validates an experiment from text: JSON when it starts with `{`, else YAML.
 * @throws ExperimentError
 */
export function parseExperiment(text: string, options: { file?: string } = {}): ExperimentDefinition {
  const file = options.file;
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed === '') throw new ExperimentError('the experiment is empty', { file });
  const isJson = trimmed.startsWith('{') || trimmed.startsWith('[');
  let data: unknown;
  let located: { lineOf(path: Path): number | undefined } | undefined;
  if (isJson) {
    try {
      data = JSON.parse(trimmed);
    } catch (e) {
      const line = firstYamlErrorLine(text);
      throw new ExperimentError(`invalid JSON: ${oneLine(e instanceof Error ? e.message : String(e))}`, {
        file,
        line,
      });
    }
    located = lazyLocator(text);
  } else {
    const lines = new LineCounter();
    let doc: ReturnType<typeof parseDocument>;
    try {
      doc = parseDocument(text, {
        lineCounter: lines,
        prettyErrors: true,
        uniqueKeys: true,
        logLevel: 'error',
      });
    } catch (e) {
      throw new ExperimentError(`invalid YAML: ${e instanceof Error ? e.message : String(e)}`, { file });
    }
    const err = doc.errors[0];
    if (err !== undefined) {
      const line = err.linePos?.[0].line;
      const message = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new ExperimentError(`invalid YAML: ${message}`, { file, line });
    }
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new ExperimentError(`invalid YAML: ${e instanceof Error ? e.message : String(e)}`, { file });
    }
    located = { lineOf: (path) => lineIn(doc, lines, path) };
  }
  try {
    return validate(data);
  } catch (e) {
    if (e instanceof InvalidField) {
      throw new ExperimentError(e.problem, { file, line: located.lineOf(e.path), field: fieldPath(e.path) });
    }
    throw e;
  }
}

/**
 * Validates an experiment given as a plain object (as it would be written in JSON) and fills in
 * defaults. Use it to build experiments in code.
 * @throws ExperimentError naming the field
 */
export function validateExperiment(data: unknown): ExperimentDefinition {
  try {
    return validate(data);
  } catch (e) {
    if (e instanceof InvalidField) throw new ExperimentError(e.problem, { field: fieldPath(e.path) });
    throw e;
  }
}

function oneLine(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 160 ? `${t.slice(0, 160)}…` : t;
}

function firstYamlErrorLine(text: string): number | undefined {
  try {
    const doc = parseDocument(text, { prettyErrors: true });
    return doc.errors[0]?.linePos?.[0].line;
  } catch {
    return undefined;
  }
}

/** Positions of a JSON text's fields, computed only when an error needs one (JSON is YAML). */
function lazyLocator(text: string): { lineOf(path: Path): number | undefined } {
  return {
    lineOf(path) {
      try {
        const lines = new LineCounter();
        const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
        return lineIn(doc, lines, path);
      } catch {
        return undefined;
      }
    },
  };
}

/** Line of the field at `path`, or of its nearest ancestor present in the document. */
function lineIn(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: Path): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    let node: unknown;
    try {
      node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    } catch {
      continue;
    }
    const range = (node as { range?: unknown } | null | undefined)?.range;
    if (Array.isArray(range) && typeof range[0] === 'number') return lines.linePos(range[0]).line;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// validation

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function object(v: unknown, path: Path): Obj {
  if (!isObj(v)) fail(path, `must be a mapping (object), got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}

/** Unknown fields are errors (they are usually typos); `x-…` fields are free for extensions. */
function onlyKeys(o: Obj, path: Path, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (k.startsWith('x-')) continue;
    if (!allowed.includes(k)) fail([...path, k], `unknown field (expected one of: ${allowed.join(', ')})`);
  }
}

function get(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function has(o: Obj, key: string): boolean {
  return Object.hasOwn(o, key) && o[key] !== undefined && o[key] !== null;
}

function str(o: Obj, key: string, path: Path): string;
function str(o: Obj, key: string, path: Path, optional: true): string | undefined;
function str(o: Obj, key: string, path: Path, optional = false): string | undefined {
  if (!has(o, key)) {
    if (optional) return undefined;
    fail([...path, key], 'is required');
  }
  const v = get(o, key);
  if (typeof v !== 'string' || v.trim() === '')
    fail([...path, key], `must be a non-empty string, got ${describe(v)}`);
  return v;
}

function num(o: Obj, key: string, path: Path, min: number, max: number, integer = false): number | undefined {
  if (!has(o, key)) return undefined;
  const v = get(o, key);
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (integer && !Number.isInteger(v))
  ) {
    fail(
      [...path, key],
      `must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}], got ${describe(v)}`,
    );
  }
  return v;
}

function bool(o: Obj, key: string, path: Path): boolean | undefined {
  if (!has(o, key)) return undefined;
  const v = get(o, key);
  if (typeof v !== 'boolean') fail([...path, key], `must be true or false, got ${describe(v)}`);
  return v;
}

function list(o: Obj, key: string, path: Path, required: boolean): unknown[] {
  if (!has(o, key)) {
    if (required) fail([...path, key], 'is required');
    return [];
  }
  const v = get(o, key);
  if (!Array.isArray(v)) fail([...path, key], `must be a list, got ${describe(v)}`);
  return v;
}

function strings(o: Obj, key: string, path: Path): string[] {
  return list(o, key, path, false).map((v, i) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return fail([...path, key, i], `must be a string, got ${describe(v)}`);
  });
}

function stringMap(o: Obj, key: string, path: Path): Record<string, string> {
  if (!has(o, key)) return {};
  const m = object(get(o, key), [...path, key]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else fail([...path, key, k], `must be a string, got ${describe(v)}`);
  }
  return out;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration: a number of ms, or a string such as `500ms`, `2s`, `1.5m`, `1h`. */
function duration(o: Obj, key: string, path: Path, fallback: number | undefined): number | undefined {
  if (!has(o, key)) return fallback;
  const v = get(o, key);
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(v);
    if (m !== null) return Number(m[1]) * (UNITS[m[2] as string] as number);
  }
  return fail(
    [...path, key],
    `must be a duration (ms as a number, or a string like "500ms", "2s", "1m"), got ${describe(v)}`,
  );
}

function body(o: Obj, key: string, path: Path): string | undefined {
  if (!has(o, key)) return undefined;
  const v = get(o, key);
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return fail([...path, key], `must be a string or a mapping/list sent as JSON, got ${describe(v)}`);
}

/** A status expectation: `200`, `[200, 299]` or `"2xx"`. */
function statusRange(o: Obj, key: string, path: Path, fallback: Range): Range {
  if (!has(o, key)) return fallback;
  const v = get(o, key);
  const p = [...path, key];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return { min: v, max: v };
  if (typeof v === 'string') {
    const m = /^([1-5])xx$/i.exec(v.trim());
    if (m !== null) return { min: Number(m[1]) * 100, max: Number(m[1]) * 100 + 99 };
  }
  if (Array.isArray(v) && v.length === 2) {
    const [lo, hi] = v as [unknown, unknown];
    if (
      typeof lo === 'number' &&
      typeof hi === 'number' &&
      Number.isInteger(lo) &&
      Number.isInteger(hi) &&
      lo <= hi
    ) {
      return { min: lo, max: hi };
    }
  }
  return fail(p, `must be a status code (200), a range ([200, 299]) or a class ("2xx"), got ${describe(v)}`);
}

/** A tolerance on a number: `5` (exactly), `[lo, hi]`, or `{ min, max }` with at least one end. */
function tolerance(o: Obj, key: string, path: Path): Range {
  const p = [...path, key];
  if (!has(o, key)) fail(p, 'is required');
  const v = get(o, key);
  if (typeof v === 'number' && Number.isFinite(v)) return { min: v, max: v };
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') {
    if (!(v[0] <= v[1])) fail(p, 'must have its lower bound first');
    return { min: v[0], max: v[1] };
  }
  if (isObj(v)) {
    onlyKeys(v, p, ['min', 'max']);
    const min = num(v, 'min', p, -Number.MAX_VALUE, Number.MAX_VALUE);
    const max = num(v, 'max', p, -Number.MAX_VALUE, Number.MAX_VALUE);
    if (min === undefined && max === undefined) fail(p, 'needs "min", "max" or both');
    if (min !== undefined && max !== undefined && min > max) fail(p, '"min" is above "max"');
    return { min, max };
  }
  return fail(p, `must be a number, [min, max] or { min, max }, got ${describe(v)}`);
}

function validate(data: unknown): ExperimentDefinition {
  const root = object(data, []);
  onlyKeys(root, [], ['version', 'title', 'description', 'tags', 'steadyState', 'method', 'rollbacks']);
  if (has(root, 'version') && get(root, 'version') !== 1) {
    fail(['version'], `must be 1 (the only format version), got ${describe(get(root, 'version'))}`);
  }
  const title = str(root, 'title', []);
  const description = str(root, 'description', [], true);
  const tags = strings(root, 'tags', []);
  const steadyState = has(root, 'steadyState')
    ? readSteadyState(get(root, 'steadyState'), ['steadyState'])
    : undefined;
  const methodList = list(root, 'method', [], true);
  if (methodList.length === 0) fail(['method'], 'must hold at least one action');
  const method = methodList.map((a, i) => readAction(a, ['method', i], i));
  const rollbacks = list(root, 'rollbacks', [], false).map((a, i) => readAction(a, ['rollbacks', i], i));
  return { version: 1, title, description, tags, steadyState, method, rollbacks };
}

function readSteadyState(v: unknown, path: Path): SteadyState {
  const o = object(v, path);
  onlyKeys(o, path, ['title', 'probes', 'during']);
  const probes = list(o, 'probes', path, true).map((p, i) => readProbe(p, [...path, 'probes', i], i));
  if (probes.length === 0) fail([...path, 'probes'], 'must hold at least one probe');
  let during: SteadyState['during'];
  if (has(o, 'during')) {
    const dp = [...path, 'during'];
    const d = object(get(o, 'during'), dp);
    onlyKeys(d, dp, ['interval', 'abortOn']);
    const intervalMs = duration(d, 'interval', dp, 1000) as number;
    if (intervalMs < 10) fail([...dp, 'interval'], 'must be at least 10ms');
    let abortOnFailures = 1;
    if (has(d, 'abortOn')) {
      const ap = [...dp, 'abortOn'];
      const a = object(get(d, 'abortOn'), ap);
      onlyKeys(a, ap, ['failures']);
      abortOnFailures =
        num(a, 'failures', ap, 1, Number.MAX_SAFE_INTEGER, true) ?? fail([...ap, 'failures'], 'is required');
    }
    during = { intervalMs, abortOnFailures };
  }
  return { title: str(o, 'title', path, true), probes, during };
}

function readProbe(v: unknown, path: Path, index: number): Probe {
  const o = object(v, path);
  const type = str(o, 'type', path);
  const name = str(o, 'name', path, true) ?? `${type} probe ${index + 1}`;
  switch (type) {
    case 'http':
      onlyKeys(o, path, [
        'type',
        'name',
        'url',
        'method',
        'headers',
        'body',
        'status',
        'maxLatency',
        'timeout',
      ]);
      return {
        type,
        name,
        url: url(o, 'url', path),
        method: (str(o, 'method', path, true) ?? 'GET').toUpperCase(),
        headers: stringMap(o, 'headers', path),
        body: body(o, 'body', path),
        status: statusRange(o, 'status', path, { min: 200, max: 399 }),
        maxLatencyMs: duration(o, 'maxLatency', path, undefined),
        timeoutMs: duration(o, 'timeout', path, 5000) as number,
      };
    case 'prometheus':
      onlyKeys(o, path, ['type', 'name', 'url', 'query', 'tolerance', 'timeout']);
      return {
        type,
        name,
        url: url(o, 'url', path),
        query: str(o, 'query', path),
        tolerance: tolerance(o, 'tolerance', path),
        timeoutMs: duration(o, 'timeout', path, 5000) as number,
      };
    default:
      return fail([...path, 'type'], `must be "http" or "prometheus", got ${describe(type)}`);
  }
}

function url(o: Obj, key: string, path: Path, fallback?: string): string {
  const s = fallback !== undefined && !has(o, key) ? fallback : str(o, key, path);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return fail([...path, key], `must be an absolute http(s) URL, got ${describe(s)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    fail([...path, key], `must be an http or https URL, got ${describe(s)}`);
  }
  return s;
}

const ACTION_KEYS = ['type', 'name', 'pauses', 'timeout'];

function readAction(v: unknown, path: Path, index: number): Action {
  const o = object(v, path);
  const type = str(o, 'type', path);
  const name = str(o, 'name', path, true) ?? `${type} ${index + 1}`;
  let pauseBeforeMs = 0;
  let pauseAfterMs = 0;
  if (has(o, 'pauses')) {
    const pp = [...path, 'pauses'];
    const p = object(get(o, 'pauses'), pp);
    onlyKeys(p, pp, ['before', 'after']);
    pauseBeforeMs = duration(p, 'before', pp, 0) as number;
    pauseAfterMs = duration(p, 'after', pp, 0) as number;
  }
  const base = (timeoutDefault: number): ActionBase => ({
    name,
    pauseBeforeMs,
    pauseAfterMs,
    timeoutMs: duration(o, 'timeout', path, timeoutDefault) as number,
  });
  switch (type) {
    case 'proxy': {
      onlyKeys(o, path, [...ACTION_KEYS, 'api', 'proxy', 'add', 'remove', 'disable', 'enable']);
      const ops = ['add', 'remove', 'disable', 'enable'].filter((k) => has(o, k));
      if (ops.length !== 1)
        fail(path, `needs exactly one of "add", "remove", "disable", "enable" (got ${ops.length})`);
      let operation: ProxyOperation;
      if (has(o, 'add')) operation = { op: 'add', toxic: readToxic(get(o, 'add'), [...path, 'add']) };
      else if (has(o, 'remove')) operation = { op: 'remove', toxic: str(o, 'remove', path) };
      else {
        const k = has(o, 'disable') ? 'disable' : 'enable';
        if (bool(o, k, path) !== true) fail([...path, k], 'must be true');
        operation = { op: k };
      }
      return {
        type,
        ...base(10_000),
        api: url(o, 'api', path, 'http://127.0.0.1:8474').replace(/\/+$/, ''),
        proxy: str(o, 'proxy', path),
        operation,
      };
    }
    case 'wait': {
      onlyKeys(o, path, [...ACTION_KEYS, 'duration']);
      if (!has(o, 'duration')) fail([...path, 'duration'], 'is required');
      const durationMs = duration(o, 'duration', path, 0) as number;
      return { type, ...base(durationMs + 1000), durationMs };
    }
    case 'command': {
      onlyKeys(o, path, [...ACTION_KEYS, 'command', 'args', 'cwd', 'env', 'expectExitCode']);
      return {
        type,
        ...base(60_000),
        command: str(o, 'command', path),
        args: strings(o, 'args', path),
        cwd: str(o, 'cwd', path, true),
        env: stringMap(o, 'env', path),
        expectExitCode: num(o, 'expectExitCode', path, 0, 255, true) ?? 0,
      };
    }
    case 'process': {
      onlyKeys(o, path, [
        ...ACTION_KEYS,
        'command',
        'args',
        'cwd',
        'env',
        'limits',
        'background',
        'expectExitCode',
      ]);
      return {
        type,
        ...base(60_000),
        command: str(o, 'command', path),
        args: strings(o, 'args', path),
        cwd: str(o, 'cwd', path, true),
        env: stringMap(o, 'env', path),
        limits: readLimits(o, [...path]),
        background: bool(o, 'background', path) ?? false,
        expectExitCode: num(o, 'expectExitCode', path, 0, 255, true),
      };
    }
    case 'http': {
      onlyKeys(o, path, [...ACTION_KEYS, 'url', 'method', 'headers', 'body', 'expectStatus']);
      return {
        type,
        ...base(10_000),
        url: url(o, 'url', path),
        method: (str(o, 'method', path, true) ?? 'POST').toUpperCase(),
        headers: stringMap(o, 'headers', path),
        body: body(o, 'body', path),
        expectStatus: statusRange(o, 'expectStatus', path, { min: 200, max: 299 }),
      };
    }
    case 'http-fault': {
      onlyKeys(o, path, [...ACTION_KEYS, 'api', 'proxy', 'toxic', 'toxicity', 'abort', 'delay', 'match']);
      if (!has(o, 'abort') && !has(o, 'delay')) fail(path, 'needs "abort", "delay" or both');
      let abort: HttpFaultAction['abort'];
      if (has(o, 'abort')) {
        const ap = [...path, 'abort'];
        const a = object(get(o, 'abort'), ap);
        onlyKeys(a, ap, ['status', 'percentage']);
        abort = {
          status: num(a, 'status', ap, 200, 599, true) ?? 503,
          percentage: num(a, 'percentage', ap, 0, 100) ?? 100,
        };
      }
      let delay: HttpFaultAction['delay'];
      if (has(o, 'delay')) {
        const dp = [...path, 'delay'];
        const d = object(get(o, 'delay'), dp);
        onlyKeys(d, dp, ['duration', 'percentage']);
        if (!has(d, 'duration')) fail([...dp, 'duration'], 'is required');
        delay = {
          durationMs: duration(d, 'duration', dp, 0) as number,
          percentage: num(d, 'percentage', dp, 0, 100) ?? 100,
        };
      }
      let match: HttpFaultMatch = { method: undefined, pathPrefix: undefined, headers: {} };
      if (has(o, 'match')) {
        const mp = [...path, 'match'];
        const m = object(get(o, 'match'), mp);
        onlyKeys(m, mp, ['method', 'pathPrefix', 'headers']);
        const pathPrefix = str(m, 'pathPrefix', mp, true);
        if (pathPrefix !== undefined && !pathPrefix.startsWith('/'))
          fail([...mp, 'pathPrefix'], `must start with "/", got ${describe(pathPrefix)}`);
        match = { method: str(m, 'method', mp, true), pathPrefix, headers: stringMap(m, 'headers', mp) };
      }
      return {
        type,
        ...base(10_000),
        api: url(o, 'api', path, 'http://127.0.0.1:8474').replace(/\/+$/, ''),
        proxy: str(o, 'proxy', path),
        toxic: str(o, 'toxic', path, true) ?? `http_fault_${index + 1}`,
        toxicity: num(o, 'toxicity', path, 0, 1) ?? 1,
        abort,
        delay,
        match,
      };
    }
    default:
      return fail(
        [...path, 'type'],
        `must be one of "proxy", "wait", "command", "process", "http", "http-fault", got ${describe(type)}`,
      );
  }
}

function readToxic(v: unknown, path: Path): ToxicSpec {
  const o = object(v, path);
  onlyKeys(o, path, ['name', 'type', 'stream', 'toxicity', 'attributes']);
  const stream = str(o, 'stream', path, true) ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') {
    fail([...path, 'stream'], `must be "upstream" or "downstream", got ${describe(stream)}`);
  }
  const attributes: Record<string, number> = {};
  if (has(o, 'attributes')) {
    const ap = [...path, 'attributes'];
    for (const [k, a] of Object.entries(object(get(o, 'attributes'), ap))) {
      if (typeof a !== 'number' || !Number.isFinite(a))
        fail([...ap, k], `must be a number, got ${describe(a)}`);
      attributes[k] = a;
    }
  }
  return {
    name: str(o, 'name', path, true),
    type: str(o, 'type', path),
    stream,
    toxicity: num(o, 'toxicity', path, 0, 1) ?? 1,
    attributes,
  };
}

function readLimits(o: Obj, path: Path): ProcessLimits {
  const none: ProcessLimits = {
    memoryMb: undefined,
    memoryMethod: 'auto',
    cpuSeconds: undefined,
    cpuPercent: undefined,
  };
  if (!has(o, 'limits')) return none;
  const lp = [...path, 'limits'];
  const l = object(get(o, 'limits'), lp);
  onlyKeys(l, lp, ['memoryMb', 'memoryMethod', 'cpuSeconds', 'cpuPercent']);
  const method = str(l, 'memoryMethod', lp, true) ?? 'auto';
  if (method !== 'auto' && method !== 'v8-heap' && method !== 'rlimit-as') {
    fail([...lp, 'memoryMethod'], `must be "auto", "v8-heap" or "rlimit-as", got ${describe(method)}`);
  }
  return {
    memoryMb: num(l, 'memoryMb', lp, 1, 1_048_576, true),
    memoryMethod: method,
    cpuSeconds: num(l, 'cpuSeconds', lp, 1, 86_400, true),
    cpuPercent: num(l, 'cpuPercent', lp, 1, 99),
  };
}
