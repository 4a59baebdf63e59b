import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type EndedSpan, type InstrumentationScope, unixNanos } from './lean-tracer.js';

/** One OTLP/JSON `AnyValue`. */
export type OtlpAnyValue =
  | { readonly stringValue: string }
  | { readonly boolValue: boolean }
  | { readonly intValue: string }
  | { readonly doubleValue: number }
  | { readonly arrayValue: { readonly values: OtlpAnyValue[] } };

export interface OtlpKeyValue {
  readonly key: string;
  readonly value: OtlpAnyValue;
}

/** Unix nanoseconds as a decimal string, from an OpenTelemetry `HrTime` (`[seconds, nanos]`). */
export function hrTimeToNanoString(time: HrTime): string {
  const [s, ns] = time;
  if (s === 0) return String(ns);
  return `${s}${String(ns).padStart(9, '0')}`;
}

function anyValue(v: AttributeValue | null | undefined): OtlpAnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  }
  if (Array.isArray(v)) {
    return { arrayValue: { values: (v as (string | number | boolean | null | undefined)[]).map(anyValue) } };
  }
  return { stringValue: '' };
}

/** Attributes in OTLP/JSON's list form; undefined values are skipped. */
export function otlpAttributes(attributes: Attributes): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const key in attributes) {
    const v = attributes[key];
    if (v !== undefined) out.push({ key, value: anyValue(v) });
  }
  return out;
}

// OTLP Span.SpanKind is the API's SpanKind + 1 (0 is UNSPECIFIED)
function spanJson(span: ReadableSpan): Record<string, unknown> {
  const sc = span.spanContext();
  const out: Record<string, unknown> = {
    traceId: sc.traceId,
    spanId: sc.spanId,
  };
  if (sc.traceState !== undefined) out.traceState = sc.traceState.serialize();
  const parent = span.parentSpanContext;
  if (parent !== undefined) out.parentSpanId = parent.spanId;
  out.flags = sc.traceFlags;
  out.name = span.name;
  out.kind = span.kind + 1;
  out.startTimeUnixNano = hrTimeToNanoString(span.startTime);
  out.endTimeUnixNano = hrTimeToNanoString(span.endTime);
  out.attributes = otlpAttributes(span.attributes);
  if (span.droppedAttributesCount > 0) out.droppedAttributesCount = span.droppedAttributesCount;
  if (span.events.length > 0) {
    out.events = span.events.map((e) => ({
      timeUnixNano: hrTimeToNanoString(e.time),
      name: e.name,
      attributes: e.attributes === undefined ? [] : otlpAttributes(e.attributes),
    }));
  }
  if (span.links.length > 0) {
    out.links = span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: l.attributes === undefined ? [] : otlpAttributes(l.attributes),
    }));
  }
  const status: Record<string, unknown> = { code: span.status.code };
  if (span.status.message !== undefined && span.status.message !== '') status.message = span.status.message;
  out.status = status;
  return out;
}

/**
 * The OTLP/JSON `ExportTraceServiceRequest` of `spans` (`{"resourceSpans":[…]}`), as the
 * OpenTelemetry Collector's file exporter writes it: hex ids, unix-nano strings, enum integers.
 */
export function toOtlpJson(spans: readonly ReadableSpan[]): { resourceSpans: unknown[] } {
  const byResource = new Map<ReadableSpan['resource'], Map<string, ReadableSpan[]>>();
  for (const span of spans) {
    let scopes = byResource.get(span.resource);
    if (scopes === undefined) {
      scopes = new Map();
      byResource.set(span.resource, scopes);
    }
    const scope = span.instrumentationScope;
    const key = `${scope.name}\u0000${scope.version ?? ''}`;
    let list = scopes.get(key);
    if (list === undefined) {
      list = [];
      scopes.set(key, list);
    }
    list.push(span);
  }
  const resourceSpans: unknown[] = [];
  for (const [resource, scopes] of byResource) {
    const scopeSpans: unknown[] = [];
    for (const list of scopes.values()) {
      const first = list[0] as ReadableSpan;
      const scope: Record<string, string> = { name: first.instrumentationScope.name };
      if (first.instrumentationScope.version !== undefined)
        scope.version = first.instrumentationScope.version;
      scopeSpans.push({ scope, spans: list.map(spanJson) });
    }
    resourceSpans.push({ resource: { attributes: otlpAttributes(resource.attributes) }, scopeSpans });
  }
  return { resourceSpans };
}

// Attribute keys and span names repeat on every span: their JSON is kept (a bounded number).
const keyJson = new Map<string, string>();
function jsonKey(key: string): string {
  let json = keyJson.get(key);
  if (json === undefined) {
    json = JSON.stringify(key);
    if (keyJson.size < 4096) keyJson.set(key, json);
  }
  return json;
}

function valueJson(v: AttributeValue | null | undefined): string {
  switch (typeof v) {
    case 'string':
      return `{"stringValue":${JSON.stringify(v)}}`;
    case 'boolean':
      return v ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'number':
      if (Number.isSafeInteger(v)) return `{"intValue":"${v}"}`;
      // protobuf's JSON mapping spells the non-finite doubles as strings
      return Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"doubleValue":"${v}"}`;
    default:
      if (Array.isArray(v)) {
        let out = '{"arrayValue":{"values":[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ',';
          out += valueJson(v[i] as string | number | boolean | null | undefined);
        }
        return `${out}]}}`;
      }
      return '{"stringValue":""}';
  }
}

// Most attributes have the same value on every span (`db.system.name`, the pool's name, the
// method): the whole `{"key":…,"value":…}` entry of a key's last scalar value is kept.
interface LastEntry {
  value: AttributeValue;
  json: string;
}
const lastEntries = new Map<string, LastEntry>();

function entryJson(key: string, v: AttributeValue): string {
  if (typeof v === 'object') return `{"key":${jsonKey(key)},"value":${valueJson(v)}}`;
  const last = lastEntries.get(key);
  if (last !== undefined && last.value === v) return last.json;
  const json = `{"key":${jsonKey(key)},"value":${valueJson(v)}}`;
  if (last !== undefined) {
    last.value = v;
    last.json = json;
  } else if (lastEntries.size < 4096) {
    lastEntries.set(key, { value: v, json });
  }
  return json;
}

/** OTLP/JSON `attributes` (the list, with its brackets); undefined values are skipped. */
export function attributesJson(attributes: Readonly<Attributes> | undefined): string {
  let out = '[';
  let first = true;
  if (attributes !== undefined) {
    for (const key in attributes) {
      const v = attributes[key];
      if (v === undefined || v === null) continue;
      if (first) first = false;
      else out += ',';
      out += entryJson(key, v);
    }
  }
  return `${out}]`;
}

// OTLP Span.SpanKind is the API's SpanKind + 1 (0 is UNSPECIFIED)
function endedSpanJson(span: EndedSpan): string {
  let out = `{"traceId":"${span.traceId}","spanId":"${span.spanId}"`;
  if (span.traceState !== undefined && span.traceState !== '')
    out += `,"traceState":${JSON.stringify(span.traceState)}`;
  if (span.parentSpanId !== undefined) out += `,"parentSpanId":"${span.parentSpanId}"`;
  out += `,"flags":${span.flags},"name":${jsonKey(span.name)},"kind":${span.kind + 1}`;
  out += `,"startTimeUnixNano":"${unixNanos(span.startMs)}","endTimeUnixNano":"${unixNanos(span.endMs)}"`;
  out += `,"attributes":${attributesJson(span.attributes)}`;
  if (span.droppedAttributesCount > 0) out += `,"droppedAttributesCount":${span.droppedAttributesCount}`;
  if (span.events !== undefined && span.events.length > 0) {
    out += ',"events":[';
    span.events.forEach((e, i) => {
      if (i > 0) out += ',';
      out += `{"timeUnixNano":"${unixNanos(e.time)}","name":${JSON.stringify(e.name)},"attributes":${attributesJson(e.attributes)}}`;
    });
    out += ']';
  }
  if (span.links !== undefined && span.links.length > 0) {
    out += ',"links":[';
    span.links.forEach((l, i) => {
      if (i > 0) out += ',';
      out += `{"traceId":"${l.context.traceId}","spanId":"${l.context.spanId}","attributes":${attributesJson(l.attributes)}}`;
    });
    out += ']';
  }
  const { code, message } = span.status;
  out +=
    message === undefined || message === ''
      ? `,"status":{"code":${code}}}`
      : `,"status":{"code":${code},"message":${JSON.stringify(message)}}}`;
  return out;
}

/**
 * A serialiser of spans from the lean tracer into the OTLP/JSON `ExportTraceServiceRequest`
 * (`{"resourceSpans":[…]}`) of one resource, written straight as text: the same document as
 * {@link toOtlpJson}, without building it as objects first.
 * @example const write = otlpJsonWriter({ 'service.name': 'api' }); post(write(spans));
 */
export function otlpJsonWriter(resource: Readonly<Attributes>): (spans: readonly EndedSpan[]) => string {
  const head = `{"resourceSpans":[{"resource":{"attributes":${attributesJson(resource)}},"scopeSpans":[`;
  const scopeHeads = new Map<InstrumentationScope, string>();
  const scopeHead = (scope: InstrumentationScope): string => {
    let json = scopeHeads.get(scope);
    if (json === undefined) {
      json = `{"scope":{"name":${JSON.stringify(scope.name)}${scope.version === undefined ? '' : `,"version":${JSON.stringify(scope.version)}`}},"spans":[`;
      scopeHeads.set(scope, json);
    }
    return json;
  };
  return (spans) => {
    // spans of one scope are the rule: group only when another appears
    const byScope = new Map<InstrumentationScope, EndedSpan[]>();
    let first: InstrumentationScope | undefined;
    let mixed = false;
    for (const s of spans) {
      if (first === undefined) first = s.scope;
      else if (s.scope !== first) mixed = true;
    }
    if (mixed) {
      for (const s of spans) {
        const list = byScope.get(s.scope);
        if (list === undefined) byScope.set(s.scope, [s]);
        else list.push(s);
      }
    } else if (first !== undefined) {
      byScope.set(first, spans as EndedSpan[]);
    }
    let out = head;
    let scopes = 0;
    for (const [scope, list] of byScope) {
      if (scopes++ > 0) out += ',';
      out += scopeHead(scope);
      for (let i = 0; i < list.length; i++) {
        if (i > 0) out += ',';
        out += endedSpanJson(list[i] as EndedSpan);
      }
      out += ']}';
    }
    return `${out}]}]}`;
  };
}
