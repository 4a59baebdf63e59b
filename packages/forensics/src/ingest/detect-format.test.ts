import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectFormat } from './detect-format.js';

const b = (s: string) => Buffer.from(s);

describe('detectFormat', () => {
  const cases: [string, string, string, 'lines' | 'document'][] = [
    [
      'pino',
      '{"level":30,"time":1700000000000,"msg":"hi"}\n{"level":50,"time":1700000000001,"msg":"x"}\n',
      'json-logs',
      'lines',
    ],
    ['ECS', '{"@timestamp":"2024-01-02T03:04:05Z","log.level":"info","message":"m"}\n', 'json-logs', 'lines'],
    ['events', '{"time":"2024-01-02T03:04:05Z","kind":"deploy","service":"api"}\n', 'events', 'lines'],
    [
      'query_range line',
      '{"metric":{"__name__":"up"},"values":[[1700000000,"1"]]}\n',
      'prometheus-range',
      'lines',
    ],
    [
      'API response',
      '{"status":"success","data":{"resultType":"matrix","result":[]}}',
      'prometheus-response',
      'lines',
    ],
    ['OTLP per line', '{"resourceSpans":[]}\n{"resourceSpans":[]}\n', 'otlp-traces', 'lines'],
    ['OTLP pretty', '{\n  "resourceSpans": [\n  ]\n}\n', 'otlp-traces', 'document'],
    ['Jaeger', '{"data":[{"traceID":"a","spans":[],"processes":{}}]}', 'jaeger-traces', 'lines'],
    ['Zipkin', '[{"traceId":"a","id":"b","timestamp":1,"duration":2}]', 'zipkin-traces', 'lines'],
    ['OpenMetrics', '# TYPE up gauge\nup{job="a"} 1 1700000000000\n# EOF\n', 'prometheus-text', 'lines'],
    ['CSV', 'time,cpu,mem\n1700000000,0.5,100\n1700000001,0.6,101\n', 'csv-metrics', 'lines'],
    ['text', '2024-01-02 03:04:05,123 INFO a\n2024-01-02 03:04:06,000 WARN b\n', 'text-logs', 'lines'],
  ];
  it.each(cases)('%s', (_name, content, format, layout) => {
    const d = detectFormat(b(content), 'x', true);
    expect(d.format).toBe(format);
    expect(d.layout).toBe(layout);
  });

  it('recognises a whole-file export too large for the head by its keys', () => {
    const head = b(
      `{"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [${'{"traceId":"a"},'.repeat(100)}`,
    );
    expect(detectFormat(head, 'spans', false)).toEqual({ format: 'otlp-traces', layout: 'document' });
  });

  it('breaks an events/logs tie with the file name only', () => {
    const content = b('{"time":1700000000,"kind":"deploy"}\n{"time":1700000000,"msg":"x"}\n');
    expect(detectFormat(content, 'events.jsonl', true).format).toBe('events');
    expect(detectFormat(content, 'app.jsonl', true).format).toBe('json-logs');
  });

  it('says why it gives up', () => {
    expect(detectFormat(b(''), '', true).reason).toBe('empty file');
    expect(detectFormat(Buffer.from([0, 1, 2, 3, 255]), '', true).reason).toBe('binary content');
    expect(detectFormat(b('hello\nworld\n'), '', true).format).toBe('unknown');
    expect(detectFormat(b('{"a":1}\n'), '', true).format).toBe('unknown');
  });

  it('detects generated pino/bunyan/ECS-style records as json-logs whatever their other fields', () => {
    const record = fc.record({
      timeKey: fc.constantFrom('time', 'timestamp', 'ts', '@timestamp', 'ts_unix_nano'),
      msgKey: fc.constantFrom('msg', 'message'),
      extra: fc.dictionary(fc.stringMatching(/^x_[a-z]{1,8}$/), fc.jsonValue()),
      t: fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }),
      msg: fc.string(),
    });
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), (records) => {
        const text = records
          .map((r) => JSON.stringify({ ...r.extra, [r.timeKey]: r.t, [r.msgKey]: r.msg, level: 30 }))
          .join('\n');
        expect(detectFormat(b(`${text}\n`), 'app.log', true).format).toBe('json-logs');
      }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), (bytes, complete) => {
        detectFormat(Buffer.from(bytes), 'f', complete);
      }),
    );
  });
});
