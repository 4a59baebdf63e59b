import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentError, isExperimentError } from './errors.js';
import { exitCodeOf } from './journal.js';
import { loadExperiment, parseExperiment, validateExperiment } from './load-experiment.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fl-exp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function loadError(name: string, text: string): Promise<ExperimentError> {
  const p = await write(name, text);
  const e = await loadExperiment(p).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isExperimentError(e)).toBe(true);
  return e as ExperimentError;
}

const GOOD_YAML = `title: API survives a slow database
description: latency on the db proxy
steadyState:
  probes:
    - type: http
      name: health
      url: http://127.0.0.1:8080/health
      status: 2xx
      maxLatency: 300ms
    - type: prometheus
      name: errors
      url: http://127.0.0.1:9090
      query: sum(rate(http_errors_total[1m]))
      tolerance: { max: 0.5 }
  during: { interval: 1s, abortOn: { failures: 2 } }
method:
  - type: proxy
    name: db latency
    proxy: postgres
    add: { type: latency, attributes: { latency: 500, jitter: 50 } }
    pauses: { after: 2s }
  - type: wait
    duration: 10s
  - type: process
    command: node
    args: [app.js]
    limits: { memoryMb: 64, cpuPercent: 50 }
    background: true
rollbacks:
  - type: http
    url: http://127.0.0.1:8080/admin/fault
    method: DELETE
`;

describe('loadExperiment', () => {
  it('loads YAML and fills in defaults', async () => {
    const def = await loadExperiment(await write('good.yaml', GOOD_YAML));
    expect(def.title).toBe('API survives a slow database');
    expect(def.steadyState?.during).toEqual({ intervalMs: 1000, abortOnFailures: 2 });
    expect(def.steadyState?.probes[0]).toMatchObject({
      method: 'GET',
      status: { min: 200, max: 299 },
      maxLatencyMs: 300,
    });
    expect(def.steadyState?.probes[1]).toMatchObject({
      tolerance: { min: undefined, max: 0.5 },
      timeoutMs: 5000,
    });
    expect(def.method[0]).toMatchObject({
      api: 'http://127.0.0.1:8474',
      operation: { op: 'add', toxic: { type: 'latency', stream: 'downstream', toxicity: 1 } },
      pauseAfterMs: 2000,
    });
    expect(def.method[1]).toMatchObject({ type: 'wait', durationMs: 10_000, name: 'wait 2' });
    expect(def.method[2]).toMatchObject({ limits: { memoryMb: 64, memoryMethod: 'auto', cpuPercent: 50 } });
    expect(def.rollbacks[0]).toMatchObject({ method: 'DELETE', expectStatus: { min: 200, max: 299 } });
  });

  it('loads the same experiment written as JSON (recognised by content, not extension)', async () => {
    const yaml = await loadExperiment(await write('a.yaml', GOOD_YAML));
    const { parse } = await import('yaml');
    const json = await loadExperiment(await write('a.txt', JSON.stringify(parse(GOOD_YAML), null, 2)));
    expect(json).toEqual(yaml);
  });

  it('names the file and line of bad YAML', async () => {
    const e = await loadError('bad.yaml', 'title: x\nmethod:\n  - type: wait\n   duration: [1\n');
    expect(e.message).toMatch(/bad\.yaml:\d+: invalid YAML/);
    expect(e.line).toBeGreaterThanOrEqual(3);
    expect(exitCodeOf(e)).toBe(3);
  });

  it('names the file and line of bad JSON', async () => {
    const e = await loadError('bad.json', '{\n  "title": "x",\n  "method": [\n}\n');
    expect(e.message).toMatch(/bad\.json:4: invalid JSON/);
  });

  it('names a missing field', async () => {
    const e = await loadError(
      'missing.yaml',
      'description: no title\nmethod:\n  - type: wait\n    duration: 1s\n',
    );
    expect(e.field).toBe('title');
    expect(e.message).toBe(`${join(dir, 'missing.yaml')}:1: title: is required`);
    const e2 = await loadError('nomethod.yaml', 'title: t\n');
    expect(e2.message).toMatch(/nomethod\.yaml:1: method: is required/);
  });

  it('names a field of the wrong type with its line', async () => {
    const e = await loadError('type.yaml', 'title: t\nmethod:\n  - type: wait\n    duration: soon\n');
    expect(e.message).toMatch(/type\.yaml:4: method\[0\]\.duration: must be a duration/);
    const e2 = await loadError(
      'toxic.json',
      '{"title":"t","method":[{"type":"proxy","proxy":"db",\n"add":{"type":"latency","attributes":{"latency":"5"}}}]}',
    );
    expect(e2.message).toMatch(/toxic\.json:2: method\[0\]\.add\.attributes\.latency: must be a number/);
  });

  it('rejects unknown fields and unknown types, naming them', async () => {
    const e = await loadError(
      'typo.yaml',
      'title: t\nsteadyState:\n  probes:\n    - type: http\n      url: http://x/\n  during:\n    abortOn: { failure: 2 }\nmethod:\n  - type: wait\n    duration: 1\n',
    );
    expect(e.message).toMatch(/typo\.yaml:7: steadyState\.during\.abortOn\.failure: unknown field/);
    const e2 = await loadError('kind.yaml', 'title: t\nmethod:\n  - type: explode\n');
    expect(e2.message).toMatch(/kind\.yaml:3: method\[0\]\.type: must be one of/);
  });

  it('rejects a proxy action without exactly one operation and a non-http URL', async () => {
    expect(() =>
      parseExperiment('title: t\nmethod:\n  - { type: proxy, proxy: db, remove: a, disable: true }\n', {
        file: 'x.yaml',
      }),
    ).toThrow(/x\.yaml:3: method\[0\]: needs exactly one of/);
    expect(() =>
      parseExperiment('title: t\nmethod:\n  - { type: http, url: "file:///etc/passwd" }\n', {
        file: 'x.yaml',
      }),
    ).toThrow(/method\[0\]\.url: must be an http or https URL/);
  });

  it('says when the file cannot be read', async () => {
    await expect(loadExperiment(join(dir, 'nope.yaml'))).rejects.toThrow(
      /nope\.yaml: cannot read the experiment file \(ENOENT\)/,
    );
  });

  it('validates objects built in code', () => {
    expect(() => validateExperiment({ title: 't', method: [{ type: 'wait', duration: -1 }] })).toThrow(
      /^method\[0\]\.duration: must be a duration/,
    );
    expect(
      validateExperiment({ title: 't', method: [{ type: 'wait', duration: '1.5s' }] }).method[0],
    ).toMatchObject({
      durationMs: 1500,
    });
  });

  it('property: arbitrary JSON or text never throws anything but ExperimentError', () => {
    const anyDoc = fc.oneof(
      fc.json(),
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify({ title: 't', method: [v] })),
      fc
        .record({
          type: fc.constantFrom('http', 'proxy', 'wait', 'command', 'process', 'prometheus'),
          x: fc.jsonValue(),
        })
        .chain((r) =>
          fc
            .dictionary(
              fc.constantFrom(
                'url',
                'add',
                'duration',
                'limits',
                'status',
                'tolerance',
                'args',
                'env',
                'query',
                'proxy',
              ),
              fc.jsonValue(),
            )
            .map((extra) =>
              JSON.stringify({
                title: 't',
                steadyState: { probes: [{ ...extra, type: r.type }] },
                method: [{ ...extra, type: r.type }],
              }),
            ),
        ),
    );
    fc.assert(
      fc.property(anyDoc, (text) => {
        try {
          parseExperiment(text, { file: 'p.json' });
        } catch (e) {
          if (!(e instanceof ExperimentError)) throw e;
          expect(e.message.startsWith('p.json')).toBe(true);
        }
      }),
      { numRuns: 600 },
    );
  });
});
