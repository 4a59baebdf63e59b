import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ExpositionSample, parseExposition, parseSampleValue } from './exposition-parser.js';

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Object.is(value, -0) ? '-0' : String(value);
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatSample(sample: ExpositionSample): string {
  const labels = Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  const labelText = labels.length === 0 ? '' : `{${labels.join(',')}}`;
  const ts = sample.timestampMs === undefined ? '' : ` ${sample.timestampMs}`;
  return `${sample.name}${labelText} ${formatValue(sample.value)}${ts}`;
}

describe('parseSampleValue', () => {
  it('reads floats and the special values', () => {
    expect(parseSampleValue('1.5e3')).toBe(1500);
    expect(parseSampleValue('-0.25')).toBe(-0.25);
    expect(parseSampleValue('.5')).toBe(0.5);
    expect(parseSampleValue('NaN')).toBeNaN();
    expect(parseSampleValue('+Inf')).toBe(Number.POSITIVE_INFINITY);
    expect(parseSampleValue('-Inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseSampleValue('0x10')).toBeUndefined();
    expect(parseSampleValue('')).toBeUndefined();
    expect(parseSampleValue('1.2.3')).toBeUndefined();
  });
});

describe('parseExposition', () => {
  it('parses comments, HELP/TYPE, labels with escapes, special values and timestamps', () => {
    const text = [
      '# A plain comment',
      '# HELP http_requests_total Total requests.\\nSecond line with \\\\ backslash.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{ method = "get" , path="C:\\\\dir\\"q\\"\\nx", } 3',
      '',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5"} NaN',
      'rpc_duration_seconds_bucket{le="+Inf"} +Inf -5',
      'rpc_low -Inf',
      'metric_without_timestamp_and_labels 12.47\r',
    ].join('\n');
    const parsed = parseExposition(text);
    expect(parsed.errors).toEqual([]);
    expect(parsed.help.get('http_requests_total')).toBe('Total requests.\nSecond line with \\ backslash.');
    expect(parsed.types.get('http_requests_total')).toBe('counter');
    expect(parsed.types.get('rpc_duration_seconds')).toBe('summary');
    expect(parsed.samples).toHaveLength(6);
    expect(parsed.samples[0]).toEqual({
      name: 'http_requests_total',
      labels: { method: 'post', code: '200' },
      value: 1027,
      timestampMs: 1395066363000,
    });
    expect(parsed.samples[1]?.labels).toEqual({ method: 'get', path: 'C:\\dir"q"\nx' });
    expect(parsed.samples[2]?.value).toBeNaN();
    expect(parsed.samples[3]).toMatchObject({ value: Number.POSITIVE_INFINITY, timestampMs: -5 });
    expect(parsed.samples[4]?.value).toBe(Number.NEGATIVE_INFINITY);
    expect(parsed.samples[5]).toEqual({
      name: 'metric_without_timestamp_and_labels',
      labels: {},
      value: 12.47,
    });
  });

  it('reports bad lines with their numbers and keeps going', () => {
    const text = [
      'ok 1',
      '9bad 1',
      'm{a="unterminated} 1',
      'm{a="x"} notanumber',
      'm 1 1.5',
      'm 1 2 3',
      'm{a="x",a="y"} 1',
      'm{a=x} 1',
      'also_ok{} 2',
    ].join('\n');
    const parsed = parseExposition(text);
    expect(parsed.samples.map((s) => s.name)).toEqual(['ok', 'also_ok']);
    expect(parsed.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  it('treats __proto__ as an ordinary label name', () => {
    const parsed = parseExposition('m{__proto__="x",constructor="y"} 1');
    const labels = parsed.samples[0]?.labels;
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toBe('x');
    expect(Object.keys(labels ?? {})).toEqual(['__proto__', 'constructor']);
  });

  const sampleArb: fc.Arbitrary<ExpositionSample> = fc
    .record(
      {
        name: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/),
        labels: fc
          .uniqueArray(
            fc.tuple(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/), fc.string({ unit: 'binary' })),
            {
              maxLength: 5,
              selector: ([k]) => k,
            },
          )
          .map((entries) => {
            const labels: Record<string, string> = Object.create(null) as Record<string, string>;
            for (const [k, v] of entries) labels[k] = v;
            return labels;
          }),
        value: fc.double(),
        timestampMs: fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
      },
      { requiredKeys: ['name', 'labels', 'value'] },
    )
    .map((s) => s as ExpositionSample);

  it('round-trips formatted samples (property)', () => {
    fc.assert(
      fc.property(fc.array(sampleArb, { maxLength: 20 }), (samples) => {
        const text = `${samples.map(formatSample).join('\n')}\n`;
        const parsed = parseExposition(text);
        expect(parsed.errors).toEqual([]);
        expect(parsed.samples).toHaveLength(samples.length);
        parsed.samples.forEach((got, i) => {
          const want = samples[i]!;
          expect(got.name).toBe(want.name);
          expect({ ...got.labels }).toEqual({ ...want.labels });
          expect(Object.is(got.value, want.value)).toBe(true);
          expect(got.timestampMs).toBe(want.timestampMs);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips HELP text and never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/),
        fc.string({ unit: 'binary' }).map((s) => s.trim()),
        (name, help) => {
          const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
          const parsed = parseExposition(`# HELP ${name} ${escaped}\n# TYPE ${name} gauge\n${name} 1\n`);
          expect(parsed.help.get(name)).toBe(help);
          expect(parsed.types.get(name)).toBe('gauge');
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const parsed = parseExposition(text);
        expect(parsed.samples.length + parsed.errors.length).toBeLessThanOrEqual(text.split('\n').length);
      }),
    );
  });
});
