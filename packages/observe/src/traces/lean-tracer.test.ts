import { performance } from 'node:perf_hooks';
import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EndedSpan, LeanTracerProvider, ratioSampled, unixNanos } from './lean-tracer.js';
import { otlpJsonWriter } from './otlp-json.js';
import { type BatchTarget, SpanBatcher } from './span-batcher.js';

const manager = new AsyncLocalStorageContextManager();
let ownsContext = false;
beforeAll(() => {
  ownsContext = context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  if (ownsContext) context.disable();
});

function recording(sampleRatio = 1, attributeCountLimit?: number) {
  const ended: EndedSpan[] = [];
  const provider = new LeanTracerProvider((s) => ended.push(s), {
    sampleRatio,
    ...(attributeCountLimit === undefined ? {} : { attributeCountLimit }),
  });
  return { ended, tracer: provider.getTracer('test-scope', '1.2.3'), provider };
}

interface OtlpDoc {
  resourceSpans: {
    resource: { attributes: { key: string; value: Record<string, unknown> }[] };
    scopeSpans: {
      scope: { name: string; version?: string };
      spans: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        flags: number;
        name: string;
        kind: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes: { key: string; value: Record<string, unknown> }[];
        droppedAttributesCount?: number;
        events?: { name: string; timeUnixNano: string; attributes: { key: string }[] }[];
        links?: { traceId: string; spanId: string }[];
        status: { code: number; message?: string };
      }[];
    }[];
  }[];
}

describe('LeanTracer', () => {
  it('gives children the trace of the active span and its id as parent', () => {
    const { ended, tracer } = recording();
    const root = tracer.startSpan('root', { kind: SpanKind.SERVER });
    context.with(trace.setSpan(context.active(), root), () => {
      tracer.startSpan('child').end();
      tracer.startActiveSpan('active', (span) => {
        expect(trace.getActiveSpan()).toBe(span);
        tracer.startSpan('grandchild').end();
        span.end();
      });
      tracer.startSpan('detached', { root: true }).end();
    });
    root.end();
    const byName = new Map(ended.map((s) => [s.name, s]));
    const r = byName.get('root') as EndedSpan;
    expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(r.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(r.parentSpanId).toBeUndefined();
    expect(byName.get('child')).toMatchObject({ traceId: r.traceId, parentSpanId: r.spanId });
    const active = byName.get('active') as EndedSpan;
    expect(active.parentSpanId).toBe(r.spanId);
    expect(byName.get('grandchild')).toMatchObject({ traceId: r.traceId, parentSpanId: active.spanId });
    expect(byName.get('detached')?.traceId).not.toBe(r.traceId);
    expect(byName.get('detached')?.parentSpanId).toBeUndefined();
    expect(new Set(ended.map((s) => s.spanId)).size).toBe(ended.length);
  });

  it('samples new traces by ratio of their trace id and follows the parent’s decision', () => {
    const none = recording(0);
    const unsampled = none.tracer.startSpan('dropped');
    expect(unsampled.isRecording()).toBe(false);
    expect(unsampled.spanContext().traceFlags).toBe(TraceFlags.NONE);
    expect(unsampled.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    unsampled.end();
    expect(none.ended).toHaveLength(0);

    // a sampled remote parent is followed even at ratio 0, an unsampled one even at ratio 1
    const sampledParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    none.tracer.startSpan('kept', {}, sampledParent).end();
    expect(none.ended.map((s) => [s.name, s.traceId, s.parentSpanId])).toEqual([
      ['kept', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7'],
    ]);
    const all = recording(1);
    const unsampledParent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.NONE,
    });
    const child = all.tracer.startSpan('not kept', {}, unsampledParent);
    expect(child.isRecording()).toBe(false);
    expect(child.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    child.end();
    expect(all.ended).toHaveLength(0);

    // the decision is the trace id's, so every service of a trace takes the same one
    expect(ratioSampled('0000000000000000000000000000000a', 0.5)).toBe(true);
    expect(ratioSampled('000000000000000000000000fffffff0', 0.5)).toBe(false);
    const quarter = recording(0.25);
    for (let i = 0; i < 4000; i++) quarter.tracer.startSpan('s').end();
    expect(quarter.ended.length / 4000).toBeGreaterThan(0.2);
    expect(quarter.ended.length / 4000).toBeLessThan(0.3);
  });

  it('propagates W3C traceparent out of its spans and continues one that comes in', () => {
    const { ended, tracer } = recording();
    const propagator = new W3CTraceContextPropagator();
    const span = tracer.startSpan('client', { kind: SpanKind.CLIENT });
    const headers: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    const { traceId, spanId } = span.spanContext();
    expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    span.end();

    const incoming = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=x' },
      defaultTextMapGetter,
    );
    tracer.startSpan('server', { kind: SpanKind.SERVER }, incoming).end();
    expect(ended[1]).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentSpanId: 'b7ad6b7169203331',
      traceState: 'vendor=x',
    });
  });

  it('writes standard OTLP/JSON: resource, scope, ids, kinds, unix-nano times, typed attributes, status, events, links', () => {
    const { ended, tracer } = recording(1, 4);
    const before = BigInt(Date.now()) * 1_000_000n;
    const link = { context: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 } };
    const span: Span = tracer.startSpan('pg.query', {
      kind: SpanKind.CLIENT,
      attributes: { s: 'select', n: 3, f: 0.5, b: true, list: ['a', 'b'] },
      links: [link],
    });
    span.setAttribute('late', 'dropped: over the limit of 4');
    span.recordException(new TypeError('bad input'));
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    span.setStatus({ code: SpanStatusCode.UNSET });
    span.end();
    span.setAttribute('after', 'end');
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    const doc = JSON.parse(
      otlpJsonWriter({ 'service.name': 'api', 'service.instance.id': 'app-1' })(ended),
    ) as OtlpDoc;
    const rs = doc.resourceSpans[0];
    expect(rs?.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'api' } },
      { key: 'service.instance.id', value: { stringValue: 'app-1' } },
    ]);
    expect(rs?.scopeSpans[0]?.scope).toEqual({ name: 'test-scope', version: '1.2.3' });
    const s = rs?.scopeSpans[0]?.spans[0];
    expect(s?.name).toBe('pg.query');
    expect(s?.kind).toBe(3); // SPAN_KIND_CLIENT
    expect(s?.flags).toBe(1);
    expect(s?.startTimeUnixNano).toMatch(/^\d{19}$/);
    const start = BigInt(s?.startTimeUnixNano ?? 0);
    const end = BigInt(s?.endTimeUnixNano ?? 0);
    expect(start >= before - 2_000_000n && end <= after + 2_000_000n && end >= start).toBe(true);
    expect(s?.attributes).toEqual([
      { key: 's', value: { stringValue: 'select' } },
      { key: 'n', value: { intValue: '3' } },
      { key: 'f', value: { doubleValue: 0.5 } },
      { key: 'b', value: { boolValue: true } },
    ]);
    expect(s?.droppedAttributesCount).toBe(2);
    expect(s?.events?.[0]?.name).toBe('exception');
    expect(s?.events?.[0]?.attributes.map((a) => a.key)).toEqual([
      'exception.type',
      'exception.message',
      'exception.stacktrace',
    ]);
    expect(s?.links).toEqual([{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), attributes: [] }]);
    expect(s?.status).toEqual({ code: 2, message: 'failed' });
  });

  it('groups spans of several scopes, and keeps unix nanos exact across milliseconds', () => {
    const ended: EndedSpan[] = [];
    const provider = new LeanTracerProvider((s) => ended.push(s));
    provider.getTracer('a').startSpan('1').end();
    provider.getTracer('b').startSpan('2').end();
    provider.getTracer('a').startSpan('3').end();
    const doc = JSON.parse(otlpJsonWriter({})(ended)) as OtlpDoc;
    const scopes = doc.resourceSpans[0]?.scopeSpans.map((ss) => [ss.scope.name, ss.spans.map((x) => x.name)]);
    expect(scopes).toEqual([
      ['a', ['1', '3']],
      ['b', ['2']],
    ]);
    const now = performance.now();
    const expected = BigInt(Math.round((performance.timeOrigin + now) * 1000)) * 1000n;
    const got = BigInt(unixNanos(now));
    expect(got - expected < 2000n && expected - got < 2000n).toBe(true);
    expect(unixNanos(1.9999999)).toMatch(/^\d{19}$/);
  });
});

function deferredTarget() {
  const sent: { body: string; count: number; done: () => void }[] = [];
  let dropped = 0;
  const target: BatchTarget = {
    exportJson: (body, count) => new Promise<void>((done) => sent.push({ body, count, done })),
    countDropped: (n) => {
      dropped += n;
    },
  };
  return { target, sent, dropped: () => dropped };
}

describe('SpanBatcher', () => {
  const spans = (n: number): EndedSpan[] => {
    const { ended, tracer } = recording();
    for (let i = 0; i < n; i++) tracer.startSpan(`s${i}`).end();
    return ended;
  };

  it('exports full batches at once, one at a time, and drops and counts when the queue is full', async () => {
    const { target, sent, dropped } = deferredTarget();
    const batcher = new SpanBatcher(target, (list) => list.map((s) => s.name).join(','), {
      maxQueueSize: 4,
      maxExportBatchSize: 2,
      scheduledDelayMillis: 60_000,
    });
    for (const s of spans(8)) batcher.add(s);
    // s0,s1 went out; s2..s5 fill the queue while that export is pending; s6, s7 are dropped
    expect(sent.map((x) => x.body)).toEqual(['s0,s1']);
    expect(batcher.queued).toBe(4);
    expect(dropped()).toBe(2);
    sent[0]?.done();
    await new Promise((r) => setImmediate(r));
    expect(sent.map((x) => x.body)).toEqual(['s0,s1', 's2,s3']);
    sent[1]?.done();
    await new Promise((r) => setImmediate(r));
    sent[2]?.done();
    await batcher.flush();
    expect(sent.map((x) => x.count)).toEqual([2, 2, 2]);
    expect(batcher.queued).toBe(0);
  });

  it('exports what waited the delay, flushes on shutdown and drops (counted) after it', async () => {
    const sent: string[] = [];
    let dropped = 0;
    const target: BatchTarget = {
      exportJson: (body) => {
        sent.push(body);
        return Promise.resolve();
      },
      countDropped: (n) => {
        dropped += n;
      },
    };
    const timed = new SpanBatcher(target, (l) => l.map((s) => s.name).join(','), {
      scheduledDelayMillis: 20,
    });
    const [a, b, c, d] = spans(4) as [EndedSpan, EndedSpan, EndedSpan, EndedSpan];
    timed.add(a);
    expect(sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(sent).toEqual(['s0']);

    const slow = new SpanBatcher(target, (l) => l.map((s) => s.name).join(','), {
      scheduledDelayMillis: 60_000,
    });
    slow.add(b);
    slow.add(c);
    await slow.shutdown();
    expect(sent).toEqual(['s0', 's1,s2']);
    slow.add(d);
    expect(dropped).toBe(1);
    expect(sent).toHaveLength(2);
  });
});
