import { STATUS_CODES } from 'node:http';
import { ChaosErrorCode, FaultlineChaosError } from '../proxy/errors.js';
import type { HttpHead } from './http-parser.js';
import type { HttpToxicKind, ToxicAttributes, ToxicAttributeValue } from './stage.js';

function invalid(field: string, message: string): never {
  throw new FaultlineChaosError(ChaosErrorCode.ToxicInvalid, `toxic attribute "${field}" ${message}`, {
    apiMessage: `bad request body: attributes.${field} ${message}`,
    details: { field: `attributes.${field}` },
  });
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : (JSON.stringify(v) ?? String(v));
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    invalid(field, `must be an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

function percentage(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
    invalid('percentage', `must be a number from 0 to 100, got ${describe(v)}`);
  }
  return v;
}

function text(v: unknown, field: string): string {
  if (typeof v !== 'string') invalid(field, `must be a string, got ${describe(v)}`);
  return v;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerMap(v: unknown, field: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    invalid(field, `must be an object of header names to values, got ${describe(v)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (!HEADER_NAME.test(k)) invalid(`${field}.${k}`, 'is not a valid header name');
    out[k.toLowerCase()] = text(value, `${field}.${k}`);
  }
  return out;
}

/** Reads one attribute from the input, else the current value, else the default. */
function pick(
  input: Readonly<Record<string, unknown>> | undefined,
  base: ToxicAttributes | undefined,
  name: string,
): unknown {
  if (input !== undefined && Object.hasOwn(input, name)) {
    const v = input[name];
    if (v !== undefined && v !== null) return v;
  }
  return base?.[name];
}

/** The match attributes shared by the HTTP toxics: `method`, `path_prefix`, `headers` (+ `header_name`/`header_value`). */
function parseMatch(
  input: Readonly<Record<string, unknown>> | undefined,
  base: ToxicAttributes | undefined,
): Record<string, ToxicAttributeValue> {
  const method = text(pick(input, base, 'method') ?? '', 'method')
    .trim()
    .toUpperCase();
  if (method !== '' && !method.split(',').every((m) => HEADER_NAME.test(m.trim()))) {
    invalid('method', `must be a method or a comma-separated list of methods, got ${describe(method)}`);
  }
  const prefix = text(pick(input, base, 'path_prefix') ?? '', 'path_prefix');
  if (prefix !== '' && !prefix.startsWith('/'))
    invalid('path_prefix', `must start with "/", got ${describe(prefix)}`);
  const headers =
    input !== undefined && input.headers !== undefined && input.headers !== null
      ? headerMap(input.headers, 'headers')
      : { ...((base?.headers as Readonly<Record<string, string>> | undefined) ?? {}) };
  const hn = input?.header_name;
  if (hn !== undefined && hn !== null && hn !== '') {
    const name = text(hn, 'header_name');
    if (!HEADER_NAME.test(name)) invalid('header_name', `is not a valid header name: ${describe(name)}`);
    const hv = input?.header_value;
    headers[name.toLowerCase()] = hv === undefined || hv === null ? '' : text(hv, 'header_value');
  } else if (input?.header_value !== undefined && input.header_value !== null) {
    invalid('header_value', 'needs header_name');
  }
  return { method, path_prefix: prefix, headers };
}

/**
 * `http_abort` (faultline extra): a matching request (and `percentage` of them, rolled per request)
 * is answered by the proxy with `status` and never reaches the upstream.
 */
export const httpAbortToxic: HttpToxicKind = {
  type: 'http_abort',
  level: 'http',
  attributes: ['status', 'percentage', 'method', 'path_prefix', 'headers'],
  parse: (input, base) => ({
    status: int(pick(input, base, 'status') ?? 503, 'status', 200, 599),
    percentage: percentage(pick(input, base, 'percentage') ?? 100),
    ...parseMatch(input, base),
  }),
};

/**
 * `http_delay` (faultline extra): a matching request (and `percentage` of them) is held `delay` ms
 * before it is forwarded; requests after it on the same connection keep their order.
 */
export const httpDelayToxic: HttpToxicKind = {
  type: 'http_delay',
  level: 'http',
  attributes: ['delay', 'percentage', 'method', 'path_prefix', 'headers'],
  parse: (input, base) => ({
    delay: int(pick(input, base, 'delay') ?? 0, 'delay', 0, 2_147_483_647),
    percentage: percentage(pick(input, base, 'percentage') ?? 100),
    ...parseMatch(input, base),
  }),
};

/** The path of a request target (origin form or absolute form), without the query. */
export function requestPath(target: string): string {
  let t = target;
  if (!t.startsWith('/')) {
    const scheme = t.indexOf('://');
    if (scheme < 0) return t;
    const slash = t.indexOf('/', scheme + 3);
    t = slash < 0 ? '/' : t.slice(slash);
  }
  const q = t.search(/[?#]/);
  return q < 0 ? t : t.slice(0, q);
}

/**
 * Whether a request matches a toxic's conditions: method (one of a comma-separated list), path
 * prefix (of the path, without the query), and each header (name case-insensitive; value exact, an
 * empty value only asks for the header to be present).
 */
export function matchesRequest(attributes: ToxicAttributes, head: HttpHead): boolean {
  const method = attributes.method;
  if (typeof method === 'string' && method !== '') {
    if (!method.split(',').some((m) => m.trim() === head.method)) return false;
  }
  const prefix = attributes.path_prefix;
  if (typeof prefix === 'string' && prefix !== '' && !requestPath(head.target).startsWith(prefix))
    return false;
  const headers = attributes.headers;
  if (typeof headers === 'object') {
    for (const [name, want] of Object.entries(headers)) {
      const values = head.headers.filter(([n]) => n === name).map(([, v]) => v);
      if (values.length === 0) return false;
      if (want !== '' && !values.includes(want) && values.join(', ') !== want) return false;
    }
  }
  return true;
}

/** Rolls a request's dice against `percentage` (0–100). */
export function hits(attributes: ToxicAttributes, random: () => number): boolean {
  const p = attributes.percentage;
  const pct = typeof p === 'number' ? p : 100;
  if (pct >= 100) return true;
  if (pct <= 0) return false;
  return random() * 100 < pct;
}

/** The response an `http_abort` sends: a small text body, `content-length`, and keep-alive unless `close`. */
export function abortResponse(status: number, toxic: string, head: HttpHead, close: boolean): Buffer {
  const reason = STATUS_CODES[status] ?? 'Unknown';
  const name = toxic.replace(/[^\x21-\x7e]/g, '_');
  const body = `fault injected by faultline (${toxic}): ${status} ${reason}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${reason}`,
    'content-type: text/plain; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-faultline-fault: ${name}`,
    `connection: ${close ? 'close' : 'keep-alive'}`,
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${head.method === 'HEAD' ? '' : body}`, 'utf8');
}
