import { parseTime } from '../time/parse-time.js';
import type { TimeZone } from '../time/time-zone.js';
import type { EventRow, LogRow } from './telemetry-rows.js';

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a key, or at a dotted path (`log.level` flat or nested). */
function lookup(obj: JsonObject, key: string): unknown {
  const direct = obj[key];
  if (direct !== undefined || !key.includes('.')) return direct;
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** The first key among `keys` holding a value, with the key. */
function pick(obj: JsonObject, keys: readonly string[]): { key: string; value: unknown } | undefined {
  for (const key of keys) {
    const value = lookup(obj, key);
    if (value !== undefined && value !== null && value !== '') return { key, value };
  }
  return undefined;
}

/** A scalar as text; OTel `AnyValue` objects unwrapped; other objects undefined. */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (isObject(value)) {
    const any = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;
    if (any !== undefined && !isObject(any)) return String(any);
  }
  return undefined;
}

function text(obj: JsonObject, keys: readonly string[]): string | null {
  for (const key of keys) {
    const value = lookup(obj, key);
    if (value === undefined || value === null) continue;
    const t = scalarText(value);
    if (t !== undefined && t !== '') return t;
  }
  return null;
}

export const TIME_KEYS = [
  'time',
  'timestamp',
  'ts',
  '@timestamp',
  'ts_unix_nano',
  'timeUnixNano',
  'observedTimeUnixNano',
  'date',
  'datetime',
] as const;
export const MESSAGE_KEYS = ['msg', 'message', 'body', 'log', 'text'] as const;
const LEVEL_KEYS = ['level', 'severity', 'severityText', 'log.level', 'levelname', 'lvl', 'severityNumber'];
const SERVICE_KEYS = [
  'service',
  'service.name',
  'serviceName',
  'service_name',
  'resource.service.name',
  'app',
  'application',
];
const INSTANCE_KEYS = [
  'instance',
  'pod',
  'service.instance.id',
  'k8s.pod.name',
  'hostname',
  'host.hostname',
  'host.name',
  'host',
  'container',
];
const REQUEST_KEYS = ['request_id', 'requestId', 'req_id', 'reqId', 'http.request.id', 'req.id'];
const TRACE_KEYS = ['trace_id', 'traceId', 'traceID', 'trace.id', 'dd.trace_id'];
const SPAN_KEYS = ['span_id', 'spanId', 'spanID', 'span.id', 'dd.span_id'];

const PINO_LEVELS: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const LEVEL_WORDS: Readonly<Record<string, string>> = {
  trace: 'trace',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  severe: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
};

/**
 * A level as one of trace/debug/info/warn/error/fatal: words in any case, pino/bunyan numbers
 * (10…60), OpenTelemetry severity numbers (1…24); anything else lower-cased as is.
 */
export function normaliseLevel(value: unknown, otelNumber = false): string | null {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d{1,3}$/.test(value))) {
    const n = Number(value);
    if (otelNumber || (n >= 1 && n <= 24 && n % 10 !== 0)) {
      if (n < 1 || n > 24) return String(n);
      return (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const)[Math.floor((n - 1) / 4)] ?? null;
    }
    return PINO_LEVELS[n] ?? String(n);
  }
  const t = scalarText(value);
  if (t === undefined || t === '') return null;
  const lower = t.trim().toLowerCase();
  return LEVEL_WORDS[lower] ?? lower.slice(0, 32);
}

function serviceOf(obj: JsonObject): string | null {
  const s = obj.service;
  if (isObject(s)) {
    const name = scalarText(s.name);
    if (name !== undefined && name !== '') return name;
  }
  const found = text(obj, SERVICE_KEYS);
  if (found !== null) return found;
  // OpenTelemetry log records carry the resource; bunyan names the logger `name`.
  const resource = obj.resource;
  if (isObject(resource)) {
    const attrs = resource.attributes;
    const fromAttrs = Array.isArray(attrs) ? otlpAttribute(attrs, 'service.name') : undefined;
    if (fromAttrs !== undefined) return fromAttrs;
    const flat = scalarText(resource['service.name']);
    if (flat !== undefined) return flat;
  }
  if (typeof obj.v === 'number' && typeof obj.name === 'string' && obj.hostname !== undefined)
    return obj.name;
  return null;
}

/** The value of `key` in an OTLP attribute list (`[{key, value:{stringValue}}]`). */
export function otlpAttribute(attrs: readonly unknown[], key: string): string | undefined {
  for (const a of attrs) {
    if (isObject(a) && a.key === key) return scalarText(a.value);
  }
  return undefined;
}

function instanceOf(obj: JsonObject): string | null {
  const host = obj.host;
  if (isObject(host)) {
    const name = scalarText(host.hostname ?? host.name);
    if (name !== undefined) return name;
  }
  return text(obj, INSTANCE_KEYS);
}

/** The record's time field: epoch ms, `missing`, or the key whose value is not a time. */
export function timeOf(obj: JsonObject, zone: TimeZone): number | { missing: true } | { bad: string } {
  const found = pick(obj, TIME_KEYS);
  if (found === undefined) return { missing: true };
  const ms = parseTime(found.value, zone);
  return ms === undefined ? { bad: found.key } : ms;
}

function messageOf(obj: JsonObject): string | null {
  const found = pick(obj, MESSAGE_KEYS);
  if (found === undefined) return null;
  const t = scalarText(found.value);
  if (t !== undefined) return t;
  return JSON.stringify(found.value) ?? null;
}

/** True for a record that looks like an event (`kind` and no message) rather than a log line. */
export function looksLikeEvent(obj: JsonObject): boolean {
  return typeof obj.kind === 'string' && pick(obj, MESSAGE_KEYS) === undefined;
}

/** True for a record with a time or a message: something a log line could be. */
export function looksLikeLog(obj: JsonObject): boolean {
  return pick(obj, TIME_KEYS) !== undefined || pick(obj, MESSAGE_KEYS) !== undefined;
}

function timeReason(t: { missing: true } | { bad: string }): string {
  return 'missing' in t ? 'no time field' : `"${t.bad}" is not a time`;
}

/** A log row from a parsed JSON record, or the reason it cannot be one. */
export function logFromObject(obj: JsonObject, raw: string, line: number, zone: TimeZone): LogRow | string {
  const t = timeOf(obj, zone);
  if (typeof t !== 'number') return timeReason(t);
  const levelFound = pick(obj, LEVEL_KEYS);
  return {
    timeMs: t,
    service: serviceOf(obj),
    instance: instanceOf(obj),
    level:
      levelFound === undefined ? null : normaliseLevel(levelFound.value, levelFound.key === 'severityNumber'),
    message: messageOf(obj) ?? '',
    requestId: text(obj, REQUEST_KEYS),
    traceId: text(obj, TRACE_KEYS),
    spanId: text(obj, SPAN_KEYS),
    attrs: raw,
    line,
  };
}

/** An event row from a parsed JSON record, or the reason it cannot be one. */
export function eventFromObject(obj: JsonObject, raw: string, zone: TimeZone): EventRow | string {
  const t = timeOf(obj, zone);
  if (typeof t !== 'number') return timeReason(t);
  const kind = scalarText(obj.kind ?? obj.type ?? obj.event);
  if (kind === undefined || kind === '') return 'no kind field';
  return { timeMs: t, kind, service: serviceOf(obj), instance: instanceOf(obj), attrs: raw };
}
