import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySink, tempFolder } from '../test-support/memory-sink.js';
import { parseTimeZone } from '../time/time-zone.js';
import { readTelemetryFile } from './read-file.js';

let folder: Awaited<ReturnType<typeof tempFolder>>;
beforeAll(async () => {
  folder = await tempFolder();
});
afterAll(() => folder.remove());

async function read(name: string, content: string | Uint8Array, options = {}) {
  const path = await folder.write(name, content);
  const sink = new MemorySink();
  const report = (await readTelemetryFile(path, sink, options)).build();
  return { sink, report };
}

describe('JSON-lines logs', () => {
  it('reads pino, bunyan, ECS and OTel-style records and keeps the record as attrs', async () => {
    const lines = [
      {
        level: 30,
        time: 1700000000000,
        pid: 1,
        hostname: 'h1',
        service: 'api',
        request_id: 'r1',
        msg: 'hello 1',
      },
      { v: 0, level: 50, name: 'billing', hostname: 'h2', time: '2023-11-14T22:13:20.001Z', msg: 'boom' },
      {
        '@timestamp': '2023-11-14T22:13:21Z',
        'log.level': 'WARNING',
        message: 'ecs',
        service: { name: 'shop' },
        trace: { id: 't1' },
      },
      {
        timeUnixNano: '1700000002000000000',
        severityNumber: 17,
        body: { stringValue: 'otel' },
        traceId: 'abc',
        spanId: 'def',
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otelsvc' } }] },
      },
      { ts: 1700000003, level: 'info', message: { nested: true }, pod: 'p-1' },
    ];
    const { sink, report } = await read('app.log', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    expect(report.format).toBe('json-logs');
    expect(report.records).toBe(5);
    expect(report.rejected).toBe(0);
    expect(sink.logs.map((l) => l.service)).toEqual(['api', 'billing', 'shop', 'otelsvc', null]);
    expect(sink.logs.map((l) => l.level)).toEqual(['info', 'error', 'warn', 'error', 'info']);
    expect(sink.logs.map((l) => l.message)).toEqual(['hello 1', 'boom', 'ecs', 'otel', '{"nested":true}']);
    expect(sink.logs[0]).toMatchObject({ timeMs: 1700000000000, instance: 'h1', requestId: 'r1', line: 1 });
    expect(sink.logs[2]?.traceId).toBe('t1');
    expect(sink.logs[3]).toMatchObject({ timeMs: 1700000002000, traceId: 'abc', spanId: 'def' });
    expect(sink.logs[4]).toMatchObject({ timeMs: 1700000003000, instance: 'p-1' });
    expect(JSON.parse(sink.logs[0]?.attrs ?? '{}').pid).toBe(1);
    expect(report.timeRange).toEqual({ fromMs: 1700000000000, toMs: 1700000003000 });
    expect(report.services).toEqual(['api', 'billing', 'otelsvc', 'shop']);
  });

  it('counts and quotes (escaped) what it rejects and keeps the rest: wrong types, duplicate keys, junk', async () => {
    const content = [
      '{"time":1700000000000,"msg":"ok"}',
      '{"time":{"a":1},"msg":"time is an object"}',
      '{"msg":"no time"}',
      'not json \u001b[31m<script>',
      '{"time":1700000000000,"time":"2023-11-14T22:13:21Z","msg":"dup","msg":"last wins"}',
      '[1,2,3]',
      '{"time":1700000000000,"msg":"ok2","level":{"x":1},"service":42}',
    ].join('\n');
    const { sink, report } = await read('dirty.jsonl', content);
    expect(report.records).toBe(3);
    expect(report.rejected).toBe(4);
    expect(report.rejectReasons).toEqual({
      '"time" is not a time': 1,
      'no time field': 1,
      'invalid JSON': 1,
      'not a JSON object': 1,
    });
    expect(sink.logs[1]).toMatchObject({ timeMs: 1700000001000, message: 'last wins' });
    expect(sink.logs[2]).toMatchObject({ service: '42', message: 'ok2' });
    const junk = report.samples.find((s) => s.reason === 'invalid JSON');
    expect(junk).toEqual({ line: 4, reason: 'invalid JSON', text: '"not json \\u001b[31m<script>"' });
  });

  it('applies --tz to zone-less times only', async () => {
    const content = '{"time":"2023-01-29 16:42:22","msg":"a"}\n{"time":"2023-01-29T08:42:22Z","msg":"b"}\n';
    const { sink } = await read('tz.jsonl', content, { zone: parseTimeZone('Asia/Shanghai') });
    expect(sink.logs.map((l) => l.timeMs)).toEqual([
      Date.UTC(2023, 0, 29, 8, 42, 22),
      Date.UTC(2023, 0, 29, 8, 42, 22),
    ]);
  });
});

describe('other formats', () => {
  it('text logs: leading timestamps, levels, continuation lines', async () => {
    const content =
      'stray line before any record\n2024-01-02 03:04:05,123 ERROR db down\n  at x.y(z.js:1)\n2024-01-02 03:04:06 INFO ok\n';
    const { sink, report } = await read('app.txt', content);
    expect(report.format).toBe('text-logs');
    expect(report.records).toBe(2);
    expect(report.rejectReasons).toEqual({ 'no leading timestamp': 1 });
    expect(sink.logs[0]).toMatchObject({
      level: 'error',
      message: 'ERROR db down\n  at x.y(z.js:1)',
      line: 2,
    });
  });

  it('events', async () => {
    const { sink, report } = await read(
      'events.jsonl',
      '{"time":"2024-01-02T03:04:05Z","kind":"fault_injected","service":"db","latency_ms":500}\n{"time":"2024-01-02T03:05:05Z"}\n',
    );
    expect(report.format).toBe('events');
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({
      kind: 'fault_injected',
      service: 'db',
      timeMs: Date.UTC(2024, 0, 2, 3, 4, 5),
    });
    expect(report.rejectReasons).toEqual({ 'no kind field': 1 });
  });

  it('Prometheus query_range lines and a whole API response (gzipped)', async () => {
    const line = JSON.stringify({
      metric: { __name__: 'cpu', service: 'carts', pod: 'carts-1' },
      values: [
        [1700000000, '1.5'],
        [1700000001, 'NaN'],
        [1700000002, '2'],
      ],
    });
    const a = await read('m.jsonl', `${line}\n`);
    expect(a.report.format).toBe('prometheus-range');
    expect(a.sink.samples.map((s) => s.value)).toEqual([1.5, 2]);
    expect(a.report.rejectReasons).toEqual({ 'sample value is not a number': 1 });
    expect(a.sink.seriesKeys[0]).toEqual({ name: 'cpu', labels: { service: 'carts', pod: 'carts-1' } });
    const response = JSON.stringify(
      { status: 'success', data: { resultType: 'matrix', result: [JSON.parse(line)] } },
      null,
      2,
    );
    const b = await read('resp.json.gz', gzipSync(response));
    expect(b.report.format).toBe('prometheus-response');
    expect(b.report.compressed).toBe(true);
    expect(b.sink.samples).toHaveLength(2);
  });

  it('OpenMetrics text with timestamps, and CSV', async () => {
    const om = await read(
      'm.prom',
      '# TYPE http gauge\nhttp{service="api",code="500"} 3 1700000000000\nhttp{service="api"} 4\nup 1 1700000000.5\n# EOF\n',
    );
    expect(om.report.format).toBe('prometheus-text');
    expect(om.sink.samples.map((s) => s.timeMs)).toEqual([1700000000000, 1700000000500]);
    expect(om.report.rejectReasons).toEqual({ 'sample without timestamp': 1 });
    const csv = await read(
      'm.csv',
      'timestamp,service,cpu,mem\n2024-01-02T03:04:04Z,api,0.4,99\n2024-01-02T03:04:05Z,api,0.5,100\n2024-01-02T03:04:06Z,api,x,\nnot-a-time,api,1,1\n',
    );
    expect(csv.report.format).toBe('csv-metrics');
    expect(csv.sink.seriesKeys.map((k) => k.name).sort()).toEqual(['cpu', 'mem']);
    expect(csv.sink.samples).toHaveLength(4);
    expect(csv.report.rejected).toBe(2);
  });

  it('OTLP, Jaeger and Zipkin traces', async () => {
    const otlp = {
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'api' } },
              { key: 'k8s.pod.name', value: { stringValue: 'api-1' } },
            ],
          },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 't',
                  spanId: 's1',
                  name: 'GET',
                  kind: 2,
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000000250000000',
                  status: { code: 2 },
                },
                {
                  traceId: 't',
                  spanId: 's2',
                  parentSpanId: 's1',
                  name: 'q',
                  kind: 'SPAN_KIND_CLIENT',
                  startTimeUnixNano: '1700000000100000000',
                  endTimeUnixNano: '1700000000000000000',
                },
              ],
            },
          ],
        },
      ],
    };
    const a = await read('spans.otlp.json', JSON.stringify(otlp, null, 1));
    expect(a.report.format).toBe('otlp-traces');
    expect(a.sink.spans).toEqual([
      expect.objectContaining({
        service: 'api',
        instance: 'api-1',
        kind: 'server',
        startMs: 1700000000000,
        durationMs: 250,
        status: 'error',
      }),
    ]);
    expect(a.report.rejectReasons).toEqual({ 'span without valid start/end time': 1 });
    const jaeger = {
      data: [
        {
          traceID: 'j',
          spans: [
            {
              traceID: 'j',
              spanID: 'a',
              operationName: 'op',
              references: [{ refType: 'CHILD_OF', spanID: 'p' }],
              startTime: 1700000000000000,
              duration: 1500,
              processID: 'p1',
              tags: [{ key: 'error', value: true }],
            },
          ],
          processes: { p1: { serviceName: 'cart', tags: [{ key: 'hostname', value: 'h' }] } },
        },
      ],
    };
    const b = await read('jaeger.json', JSON.stringify(jaeger));
    expect(b.sink.spans[0]).toMatchObject({
      service: 'cart',
      instance: 'h',
      parentSpanId: 'p',
      durationMs: 1.5,
      status: 'error',
    });
    const zipkin = [
      {
        traceId: 'z',
        id: 'a',
        parentId: 'b',
        name: 'get',
        kind: 'CLIENT',
        timestamp: 1700000000000000,
        duration: 2000,
        localEndpoint: { serviceName: 'front' },
        tags: { 'http.status_code': '503' },
      },
    ];
    const c = await read('zipkin.json', JSON.stringify(zipkin));
    expect(c.sink.spans[0]).toMatchObject({
      service: 'front',
      kind: 'client',
      durationMs: 2,
      status: 'error',
    });
  });
});

describe('hostile input (fuzz)', () => {
  it('random bytes: never throws, never hangs, accounts for every line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4000 }), async (bytes) => {
        const { report } = await read('fuzz.bin', bytes);
        expect(report.records + report.rejected).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 30 },
    );
    // random bytes forced through every JSON reader
    for (const format of ['json-logs', 'events', 'otlp-traces'] as const) {
      const { report } = await read('forced.bin', randomBytes(20_000), {
        detection: { format, layout: 'lines' },
      });
      expect(report.records).toBe(0);
      expect(report.rejected).toBeGreaterThan(0);
    }
  });

  it('truncated gzip: reports the error and keeps what was read', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({ time: 1700000000000 + i, msg: `line ${i} ${'x'.repeat(i % 50)}` }),
    );
    const gz = gzipSync(`${lines.join('\n')}\n`);
    const { report } = await read('cut.jsonl.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    expect(report.gzipError).not.toBeNull();
    expect(report.records).toBeGreaterThan(1000);
    expect(report.records).toBeLessThan(5000);
    expect(report.rejected).toBeLessThanOrEqual(1); // at most the cut last line
  });

  it('a 10 MB single line is rejected with a reason; the lines around it are kept', async () => {
    const big = `{"time":1700000000000,"msg":"${'a'.repeat(10 * 1024 * 1024)}"}`;
    const content = `{"time":1700000000000,"msg":"before"}\n${big}\n{"time":1700000000001,"msg":"after"}\n`;
    const { sink, report } = await read('big.jsonl', content);
    expect(sink.logs.map((l) => l.message)).toEqual(['before', 'after']);
    expect(report.rejectReasons).toEqual({ 'line longer than 1048576 bytes': 1 });
    expect(report.samples[0]?.text.length).toBeLessThan(300);
    const raised = await read('big2.jsonl', content, { maxLineBytes: 16 * 1024 * 1024 });
    expect(raised.sink.logs).toHaveLength(3);
  });

  it('invalid UTF-8: lines are kept with U+FFFD and counted', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"time":1700000000000,"msg":"caf'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}\n{"time":1700000000001,"msg":"fine"}\n'),
    ]);
    const { sink, report } = await read('utf8.jsonl', bad);
    expect(sink.logs).toHaveLength(2);
    expect(report.invalidUtf8Lines).toBe(1);
  });

  it('arbitrary JSON values with wrong field types never throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 30 }), async (values) => {
        const content = values
          .map((v) => JSON.stringify({ time: v, msg: v, level: v, service: v, trace_id: v }))
          .join('\n');
        const { report } = await read('types.jsonl', content, {
          detection: { format: 'json-logs', layout: 'lines' },
        });
        expect(report.records + report.rejected).toBe(values.length);
      }),
      { numRuns: 20 },
    );
  });
});
