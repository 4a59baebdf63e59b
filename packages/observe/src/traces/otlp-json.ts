import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

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
