import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  type Attributes,
  type AttributeValue,
  type Context,
  context as contextApi,
  type Exception,
  isSpanContextValid,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanAttributeValue,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
  TraceFlags,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';

/** What an ended, sampled span hands to the exporter: everything OTLP needs, nothing else. */
export interface EndedSpan {
  readonly scope: InstrumentationScope;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly traceState: string | undefined;
  readonly flags: number;
  readonly name: string;
  readonly kind: SpanKind;
  /** Milliseconds since `performance.timeOrigin`, as `performance.now()` gives them. */
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Readonly<Attributes>;
  readonly droppedAttributesCount: number;
  readonly events: readonly SpanEventData[] | undefined;
  readonly links: readonly Link[] | undefined;
  readonly status: SpanStatus;
}

export interface SpanEventData {
  readonly name: string;
  readonly time: number;
  readonly attributes: Attributes | undefined;
}

export interface InstrumentationScope {
  readonly name: string;
  readonly version: string | undefined;
}

/** Where ended spans go (the batching exporter). */
export type SpanSink = (span: EndedSpan) => void;

export interface LeanTracerProviderOptions {
  /** Share of new traces recorded (0–1); a parent's sampled flag is always followed. Default 1. */
  readonly sampleRatio?: number;
  /** Attributes kept per span (and per event); later ones are counted as dropped. Default 128. */
  readonly attributeCountLimit?: number;
}

const ORIGIN_WHOLE = Math.floor(performance.timeOrigin);
const ORIGIN_FRACTION = performance.timeOrigin - ORIGIN_WHOLE;

/**
 * Unix nanoseconds as a decimal string of a time taken as `performance.now()`: the origin's
 * integer milliseconds are kept apart so that the sum stays exact to the microsecond.
 */
export function unixNanos(sinceOrigin: number): string {
  const t = ORIGIN_FRACTION + sinceOrigin;
  let ms = Math.floor(t);
  let ns = Math.round((t - ms) * 1e6);
  if (ns >= 1e6) {
    ns -= 1e6;
    ms += 1;
  }
  // spans of a batch share their milliseconds: the 13-digit prefix is formatted once per ms
  if (ms !== lastMs) {
    lastMs = ms;
    lastMsText = String(ORIGIN_WHOLE + ms);
  }
  return ns >= 100_000 ? `${lastMsText}${ns}` : `${lastMsText}${String(ns).padStart(6, '0')}`;
}
let lastMs = Number.NaN;
let lastMsText = '';

/** A `TimeInput` as milliseconds since `performance.timeOrigin`. */
function sinceOrigin(time: TimeInput | undefined): number {
  if (time === undefined) return performance.now();
  if (typeof time === 'number') {
    // like the SDK: a number below the origin is a performance.now() reading, else epoch ms
    return time < performance.timeOrigin ? time : time - performance.timeOrigin;
  }
  if (time instanceof Date) return time.getTime() - performance.timeOrigin;
  return time[0] * 1e3 + time[1] / 1e6 - performance.timeOrigin;
}

// Ids come from a pool of random bytes refilled 4 KiB at a time (one syscall per ~170 spans),
// hex-encoded at once: an id is then a slice of that text.
const pool = Buffer.allocUnsafe(4096);
let poolHex = '';
let poolOffset = pool.length;
const INVALID = { 8: '0'.repeat(16), 16: '0'.repeat(32) } as const;

function randomHex(bytes: 8 | 16): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      randomFillSync(pool);
      poolHex = pool.toString('hex');
      poolOffset = 0;
    }
    const hex = poolHex.slice(poolOffset * 2, (poolOffset + bytes) * 2);
    poolOffset += bytes;
    // all-zero ids are invalid (one chance in 2^64)
    if (hex !== INVALID[bytes]) return hex;
  }
}

/** Whether a new trace is kept: the same decision for the same trace id in every process. */
export function ratioSampled(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return Number.parseInt(traceId.slice(-8), 16) < ratio * 0x1_0000_0000;
}

function isAttributeValue(v: unknown): v is AttributeValue {
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || Array.isArray(v);
}

/**
 * A recording span: plain fields, written once to the sink when it ends. Implements the
 * OpenTelemetry API's `Span`, so code written against the API works with it unchanged.
 */
class LeanSpan implements Span, EndedSpan {
  readonly attributes: Attributes = {};
  droppedAttributesCount = 0;
  events: SpanEventData[] | undefined;
  links: Link[] | undefined;
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  endMs = 0;
  private ended = false;
  private attributeCount = 0;
  private readonly context: SpanContext;

  constructor(
    private readonly sink: SpanSink,
    private readonly limit: number,
    readonly scope: InstrumentationScope,
    public name: string,
    readonly kind: SpanKind,
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string | undefined,
    readonly traceState: string | undefined,
    readonly startMs: number,
    spanContext: SpanContext,
  ) {
    this.context = spanContext;
  }

  get flags(): number {
    return this.context.traceFlags;
  }

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: SpanAttributeValue): this {
    if (this.ended || value === undefined || value === null || !isAttributeValue(value)) return this;
    if (!(key in this.attributes)) {
      if (this.attributeCount >= this.limit) {
        this.droppedAttributesCount++;
        return this;
      }
      this.attributeCount++;
    }
    this.attributes[key] = Array.isArray(value) ? value.slice() : value;
    return this;
  }

  /** The attributes given at start, into a span that has none yet. */
  setInitialAttributes(attributes: SpanAttributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined || value === null || !isAttributeValue(value)) continue;
      if (this.attributeCount >= this.limit) {
        this.droppedAttributesCount++;
        continue;
      }
      this.attributeCount++;
      this.attributes[key] = Array.isArray(value) ? value.slice() : value;
    }
  }

  setAttributes(attributes: SpanAttributes): this {
    for (const key in attributes) this.setAttribute(key, attributes[key] as SpanAttributeValue);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: SpanAttributes | TimeInput, startTime?: TimeInput): this {
    if (this.ended) return this;
    let attributes: Attributes | undefined;
    let time = startTime;
    if (
      attributesOrStartTime instanceof Date ||
      typeof attributesOrStartTime === 'number' ||
      Array.isArray(attributesOrStartTime)
    ) {
      time = attributesOrStartTime;
    } else if (attributesOrStartTime !== undefined) {
      attributes = {};
      for (const key in attributesOrStartTime) {
        const v = attributesOrStartTime[key];
        if (v !== undefined && v !== null) attributes[key] = v;
      }
    }
    this.events ??= [];
    this.events.push({ name, time: sinceOrigin(time), attributes });
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this;
    this.links ??= [];
    this.links.push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    // as the SDK: UNSET changes nothing, and OK is final
    if (this.ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK)
      return this;
    this.status =
      status.code === SpanStatusCode.ERROR && typeof status.message === 'string'
        ? { code: status.code, message: status.message }
        : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    const end = sinceOrigin(endTime);
    // a clock that went backwards must not give a negative duration
    this.endMs = end < this.startMs ? this.startMs : end;
    this.sink(this);
  }

  isRecording(): boolean {
    return !this.ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else {
      const type = exception.name ?? (exception.code === undefined ? undefined : String(exception.code));
      if (type !== undefined) attributes['exception.type'] = type;
      if (exception.message !== undefined) attributes['exception.message'] = exception.message;
      if (exception.stack !== undefined) attributes['exception.stacktrace'] = exception.stack;
    }
    this.addEvent('exception', attributes, time);
  }
}

/**
 * A tracer that records spans as plain objects and hands ended ones to a sink: parent-based
 * sampling (a parent's decision is followed, new traces kept by `sampleRatio` of their trace id),
 * W3C ids, no processors or resource merging on the hot path.
 */
export class LeanTracer implements Tracer {
  constructor(
    private readonly scope: InstrumentationScope,
    private readonly sink: SpanSink,
    private readonly ratio: number,
    private readonly limit: number,
  ) {}

  startSpan(name: string, options?: SpanOptions, ctx: Context = contextApi.active()): Span {
    const parent = options?.root === true ? undefined : trace.getSpanContext(ctx);
    const hasParent = parent !== undefined && isSpanContextValid(parent);
    const traceId = hasParent ? parent.traceId : randomHex(16);
    const spanId = randomHex(8);
    const sampled = hasParent
      ? (parent.traceFlags & TraceFlags.SAMPLED) !== 0
      : ratioSampled(traceId, this.ratio);
    const traceState = hasParent ? parent.traceState : undefined;
    const spanContext: SpanContext = {
      traceId,
      spanId,
      traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
      ...(traceState === undefined ? {} : { traceState }),
    };
    // an unsampled span still carries its ids, so that they propagate (with the flag off)
    if (!sampled) return trace.wrapSpanContext(spanContext);
    const span = new LeanSpan(
      this.sink,
      this.limit,
      this.scope,
      name,
      options?.kind ?? SpanKind.INTERNAL,
      traceId,
      spanId,
      hasParent ? parent.spanId : undefined,
      traceState?.serialize(),
      sinceOrigin(options?.startTime),
      spanContext,
    );
    const attributes = options?.attributes;
    if (attributes !== undefined) span.setInitialAttributes(attributes);
    if (options?.links !== undefined) span.addLinks(options.links);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    const fn = (typeof a === 'function' ? a : typeof b === 'function' ? b : c) as F;
    const options = typeof a === 'object' ? a : undefined;
    const parent = typeof b === 'object' ? b : contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}

/** Hands out {@link LeanTracer}s, one per instrumentation scope, all writing to one sink. */
export class LeanTracerProvider implements TracerProvider {
  private readonly tracers = new Map<string, LeanTracer>();
  private readonly ratio: number;
  private readonly limit: number;

  constructor(
    private readonly sink: SpanSink,
    options: LeanTracerProviderOptions = {},
  ) {
    this.ratio = options.sampleRatio ?? 1;
    this.limit = options.attributeCountLimit ?? 128;
  }

  getTracer(name: string, version?: string): Tracer {
    const key = `${name}\u0000${version ?? ''}`;
    let tracer = this.tracers.get(key);
    if (tracer === undefined) {
      tracer = new LeanTracer({ name, version }, this.sink, this.ratio, this.limit);
      this.tracers.set(key, tracer);
    }
    return tracer;
  }
}
