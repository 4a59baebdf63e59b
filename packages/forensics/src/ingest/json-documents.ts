import { serviceOfLabels } from '../store/store-schema.js';
import { epochMsFromDigits, parseTime } from '../time/parse-time.js';
import type { TimeZone } from '../time/time-zone.js';
import type { FileReportBuilder } from './file-report.js';
import {
  isObject,
  type JsonObject,
  logFromObject,
  normaliseLevel,
  otlpAttribute,
  scalarText,
} from './json-fields.js';
import type { SpanStatus, TelemetrySink } from './telemetry-rows.js';

/** What a JSON document handler needs. */
export interface JsonContext {
  readonly sink: TelemetrySink;
  readonly report: FileReportBuilder;
  readonly zone: TimeZone;
}

const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

function spanKind(value: unknown): string {
  if (typeof value === 'number') return SPAN_KINDS[value] ?? 'unspecified';
  if (typeof value === 'string') {
    const k = value.toLowerCase().replace(/^span_kind_/, '');
    return (SPAN_KINDS as readonly string[]).includes(k) ? k : 'unspecified';
  }
  return 'unspecified';
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** OTLP attributes (`[{key, value:{stringValue}}]`) as a plain object. */
function otlpAttributesObject(attrs: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of asArray(attrs)) {
    if (!isObject(a) || typeof a.key !== 'string') continue;
    const v = scalarText(a.value);
    if (v !== undefined) out[a.key] = v;
  }
  return out;
}

function errorFromAttributes(attrs: Readonly<Record<string, unknown>>): boolean {
  const error = attrs.error;
  if (error === true || error === 'true') return true;
  const code = Number(attrs['http.status_code'] ?? attrs['http.response.status_code']);
  if (code >= 500) return true;
  const otel = attrs['otel.status_code'];
  return typeof otel === 'string' && otel.toUpperCase() === 'ERROR';
}

function spanTime(value: unknown): number | undefined {
  if (typeof value === 'string') return epochMsFromDigits(value);
  return parseTime(value);
}

function text(value: unknown): string | null {
  const t = scalarText(value);
  return t === undefined || t === '' ? null : t;
}

/** An OTLP/JSON traces export (`{"resourceSpans":[…]}`). */
export function readOtlpTraces(doc: JsonObject, line: number, ctx: JsonContext): void {
  for (const rs of asArray(doc.resourceSpans)) {
    if (!isObject(rs)) continue;
    const resourceAttrs = isObject(rs.resource) ? asArray(rs.resource.attributes) : [];
    const service = otlpAttribute(resourceAttrs, 'service.name') ?? null;
    const instance =
      otlpAttribute(resourceAttrs, 'service.instance.id') ??
      otlpAttribute(resourceAttrs, 'k8s.pod.name') ??
      otlpAttribute(resourceAttrs, 'host.name') ??
      null;
    const scopes = [...asArray(rs.scopeSpans), ...asArray(rs.instrumentationLibrarySpans)];
    for (const scope of scopes) {
      if (!isObject(scope)) continue;
      for (const span of asArray(scope.spans)) {
        if (!isObject(span)) {
          ctx.report.reject(line, 'span is not an object', JSON.stringify(span) ?? '');
          continue;
        }
        const traceId = text(span.traceId);
        const spanId = text(span.spanId);
        const start = spanTime(span.startTimeUnixNano);
        const end = spanTime(span.endTimeUnixNano);
        if (traceId === null || spanId === null) {
          ctx.report.reject(line, 'span without traceId or spanId', JSON.stringify(span));
          continue;
        }
        if (start === undefined || end === undefined || end < start) {
          ctx.report.reject(line, 'span without valid start/end time', JSON.stringify(span));
          continue;
        }
        const attrs = otlpAttributesObject(span.attributes);
        const status = isObject(span.status) ? span.status.code : undefined;
        let spanStatus: SpanStatus = 'unset';
        if (status === 2 || status === 'STATUS_CODE_ERROR' || errorFromAttributes(attrs))
          spanStatus = 'error';
        else if (status === 1 || status === 'STATUS_CODE_OK') spanStatus = 'ok';
        ctx.sink.span({
          traceId,
          spanId,
          parentSpanId: text(span.parentSpanId),
          service,
          instance,
          name: text(span.name) ?? '',
          kind: spanKind(span.kind),
          startMs: start,
          durationMs: end - start,
          status: spanStatus,
          attrs: Object.keys(attrs).length === 0 ? null : JSON.stringify(attrs),
        });
        ctx.report.accept(start, service);
      }
    }
  }
}

/** An OTLP/JSON logs export (`{"resourceLogs":[…]}`). */
export function readOtlpLogs(doc: JsonObject, line: number, ctx: JsonContext): void {
  for (const rl of asArray(doc.resourceLogs)) {
    if (!isObject(rl)) continue;
    const resourceAttrs = isObject(rl.resource) ? otlpAttributesObject(rl.resource.attributes) : {};
    for (const scope of [...asArray(rl.scopeLogs), ...asArray(rl.instrumentationLibraryLogs)]) {
      if (!isObject(scope)) continue;
      for (const record of asArray(scope.logRecords)) {
        if (!isObject(record)) continue;
        const attrs = { ...resourceAttrs, ...otlpAttributesObject(record.attributes) };
        const flat: JsonObject = {
          timeUnixNano: record.timeUnixNano === '0' ? undefined : record.timeUnixNano,
          observedTimeUnixNano: record.observedTimeUnixNano,
          body: record.body,
          traceId: record.traceId,
          spanId: record.spanId,
          ...attrs,
        };
        const row = logFromObject(flat, JSON.stringify(attrs), line, ctx.zone);
        if (typeof row === 'string') {
          ctx.report.reject(line, row, JSON.stringify(record));
          continue;
        }
        const level =
          record.severityText !== undefined
            ? normaliseLevel(record.severityText)
            : normaliseLevel(record.severityNumber, true);
        ctx.sink.log({ ...row, level });
        ctx.report.accept(row.timeMs, row.service);
      }
    }
  }
}

/** Jaeger's JSON (`{"data":[{"traceID","spans":[…],"processes":{…}}]}`; times in µs). */
export function readJaeger(doc: JsonObject, line: number, ctx: JsonContext): void {
  for (const trace of asArray(doc.data)) {
    if (!isObject(trace)) continue;
    const processes = isObject(trace.processes) ? trace.processes : {};
    for (const span of asArray(trace.spans)) {
      if (!isObject(span)) continue;
      const traceId = text(span.traceID ?? trace.traceID);
      const spanId = text(span.spanID);
      const startUs = Number(span.startTime);
      const durationUs = Number(span.duration ?? 0);
      if (traceId === null || spanId === null) {
        ctx.report.reject(line, 'span without traceID or spanID', JSON.stringify(span));
        continue;
      }
      if (!Number.isFinite(startUs) || !Number.isFinite(durationUs) || durationUs < 0) {
        ctx.report.reject(line, 'span without valid startTime/duration', JSON.stringify(span));
        continue;
      }
      const tags: Record<string, unknown> = {};
      for (const t of asArray(span.tags)) if (isObject(t) && typeof t.key === 'string') tags[t.key] = t.value;
      const process = typeof span.processID === 'string' ? processes[span.processID] : span.process;
      const service = isObject(process) ? text(process.serviceName) : null;
      let instance: string | null = null;
      if (isObject(process))
        for (const t of asArray(process.tags))
          if (isObject(t) && (t.key === 'hostname' || t.key === 'ip') && instance === null)
            instance = text(t.value);
      const parentRef = asArray(span.references).find((r) => isObject(r) && r.refType === 'CHILD_OF');
      const parent = isObject(parentRef) ? text(parentRef.spanID) : text(span.parentSpanID);
      const startMs = startUs / 1000;
      ctx.sink.span({
        traceId,
        spanId,
        parentSpanId: parent,
        service,
        instance,
        name: text(span.operationName) ?? '',
        kind: spanKind(tags['span.kind']),
        startMs,
        durationMs: durationUs / 1000,
        status: errorFromAttributes(tags) ? 'error' : 'unset',
        attrs: Object.keys(tags).length === 0 ? null : JSON.stringify(tags),
      });
      ctx.report.accept(startMs, service);
    }
  }
}

/** Zipkin v2 JSON: an array of spans, or one span (times in µs). */
export function readZipkin(doc: unknown, line: number, ctx: JsonContext): void {
  for (const span of Array.isArray(doc) ? doc : [doc]) {
    if (!isObject(span)) continue;
    const traceId = text(span.traceId);
    const spanId = text(span.id);
    const startUs = Number(span.timestamp);
    const durationUs = Number(span.duration ?? 0);
    if (traceId === null || spanId === null) {
      ctx.report.reject(line, 'span without traceId or id', JSON.stringify(span));
      continue;
    }
    if (!Number.isFinite(startUs) || !Number.isFinite(durationUs) || durationUs < 0) {
      ctx.report.reject(line, 'span without valid timestamp/duration', JSON.stringify(span));
      continue;
    }
    const tags: Record<string, unknown> = isObject(span.tags) ? { ...span.tags } : {};
    if (tags.error !== undefined) tags.error = true;
    const local = isObject(span.localEndpoint) ? span.localEndpoint : {};
    const service = text(local.serviceName);
    const startMs = startUs / 1000;
    ctx.sink.span({
      traceId,
      spanId,
      parentSpanId: text(span.parentId),
      service,
      instance: text(local.ipv4 ?? local.ipv6),
      name: text(span.name) ?? '',
      kind: spanKind(span.kind),
      startMs,
      durationMs: durationUs / 1000,
      status: errorFromAttributes(tags) ? 'error' : 'unset',
      attrs: Object.keys(tags).length === 0 ? null : JSON.stringify(tags),
    });
    ctx.report.accept(startMs, service);
  }
}

function labelsOf(metric: JsonObject): { name: string; labels: Record<string, string> } {
  const labels: Record<string, string> = {};
  let name = '';
  for (const [k, v] of Object.entries(metric)) {
    const t = scalarText(v);
    if (t === undefined) continue;
    if (k === '__name__') name = t;
    else labels[k] = t;
  }
  return { name: name === '' ? 'value' : name, labels };
}

/** One Prometheus `query_range` series (`{"metric":{…},"values":[[t,"v"],…]}`). */
export function readPrometheusSeries(series: JsonObject, line: number, ctx: JsonContext): void {
  if (!isObject(series.metric)) {
    ctx.report.reject(line, 'series without a metric object', JSON.stringify(series));
    return;
  }
  const key = labelsOf(series.metric);
  const seriesId = ctx.sink.series(key);
  const service = serviceOfLabels(key.labels);
  const values = Array.isArray(series.values) ? series.values : [series.value];
  for (const pair of values) {
    if (!Array.isArray(pair) || pair.length < 2) {
      ctx.report.reject(line, 'sample is not [time, "value"]', JSON.stringify(pair) ?? '');
      continue;
    }
    const t = parseTime(pair[0], ctx.zone);
    const v =
      typeof pair[1] === 'number' ? pair[1] : typeof pair[1] === 'string' ? Number(pair[1]) : Number.NaN;
    if (t === undefined) {
      ctx.report.reject(line, 'sample time is not a time', JSON.stringify(pair));
      continue;
    }
    if (Number.isNaN(v)) {
      ctx.report.reject(line, 'sample value is not a number', JSON.stringify(pair));
      continue;
    }
    ctx.sink.sample(seriesId, t, v);
    ctx.report.accept(t, service);
  }
}

/** A whole Prometheus API response (`{"status":"success","data":{"result":[…]}}`). */
export function readPrometheusResponse(doc: JsonObject, line: number, ctx: JsonContext): void {
  if (doc.status !== undefined && doc.status !== 'success') {
    ctx.report.reject(line, 'API response status is not success', JSON.stringify(doc).slice(0, 500));
    return;
  }
  const data = isObject(doc.data) ? doc.data : {};
  for (const series of asArray(data.result)) {
    if (isObject(series)) readPrometheusSeries(series, line, ctx);
    else ctx.report.reject(line, 'series is not an object', JSON.stringify(series) ?? '');
  }
}
