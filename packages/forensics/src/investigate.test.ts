import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isForensicsError } from './errors.js';
import { investigate } from './investigate.js';
import { tempFolder } from './test-support/memory-sink.js';

const NEZHA = new URL('../../../../shared/data/nezha-trainticket-dev/2023-01-29_0', import.meta.url).pathname;
const LOGHUB = new URL('../../../../shared/data/loghub-2k', import.meta.url).pathname;
if (!existsSync(NEZHA))
  throw new Error(`${NEZHA} is missing: the shared data folder is needed for these tests`);

let folder: Awaited<ReturnType<typeof tempFolder>>;
beforeAll(async () => {
  folder = await tempFolder();
});
afterAll(() => folder.remove());

describe('investigate (ingestion) on real data', () => {
  it('reads one Nezha Train-Ticket case: logs, metrics and OTLP spans, services and call edges', async () => {
    const { store, report } = await investigate([NEZHA]);
    try {
      const byFormat = Object.fromEntries(report.files.map((f) => [f.format, f]));
      expect(byFormat['json-logs']?.records).toBe(7852);
      expect(byFormat['prometheus-range']?.records).toBe(27260);
      expect(byFormat['otlp-traces']?.records).toBe(14460);
      expect(report.totals).toMatchObject({
        logs: 7852,
        series: 874,
        samples: 27260,
        spans: 14460,
        rejected: 0,
      });
      expect(report.services).toContain('ts-contacts-service');
      expect(report.services.length).toBeGreaterThan(40);
      expect(report.totals.templates).toBeGreaterThan(20);
      expect(report.totals.templates).toBeLessThan(2000);
      const edges = await store.queries.spanEdges();
      expect(edges.length).toBeGreaterThan(10);
      expect(edges[0]?.count).toBeGreaterThan(0);
      const range = await store.queries.timeRange();
      expect(range?.fromMs).toBe(Date.UTC(2023, 0, 29, 8, 41, 9));
      const counts = await store.queries.logCounts({ bucketMs: 60_000, by: 'level' });
      expect(counts.reduce((a, c) => a + c.count, 0)).toBe(7852);
      const cpu = await store.queries.metricSeries({ name: 'cpuusage_m', service: 'ts-contacts-service' });
      expect(cpu.length).toBeGreaterThan(0);
      expect(cpu[0]?.timesMs.length).toBe(cpu[0]?.values.length);
      const logs = await store.queries.logs({ service: 'ts-contacts-service', limit: 3 });
      expect(logs[0]?.templateId).toMatch(/\S/);
      expect(report.clockSuspicions).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('reads all ten Loghub systems without a reject and skips the CSVs it does not know', async () => {
    const files = [
      'Android',
      'Apache',
      'BGL',
      'HDFS',
      'HPC',
      'Hadoop',
      'OpenSSH',
      'Spark',
      'Windows',
      'Zookeeper',
    ].map((s) => join(LOGHUB, s, `${s}_2k.log`));
    const { store, report } = await investigate(files, { year: 2020 });
    try {
      for (const f of report.files) {
        expect(f.format, f.path).toBe('text-logs');
        expect(f.records, f.path).toBe(2000);
        expect(f.rejected, f.path).toBe(0);
      }
    } finally {
      await store.close();
    }
  });
});

describe('investigate: store, bulk path, clock offsets', () => {
  it('re-opening a store skips unchanged files and re-reads changed ones', async () => {
    const dir = join(folder.dir, 'bundle');
    await folder.write('bundle-a.jsonl', '{"time":1700000000000,"service":"a","msg":"x 1"}\n');
    const storePath = join(folder.dir, 'store.duckdb');
    const first = await investigate([join(folder.dir, 'bundle-a.jsonl')], { store: storePath });
    await first.store.close();
    const second = await investigate([join(folder.dir, 'bundle-a.jsonl')], { store: storePath });
    expect(second.report.totals.unchanged).toBe(1);
    expect(second.report.totals.logs).toBe(1);
    await second.store.close();
    await folder.write(
      'bundle-a.jsonl',
      '{"time":1700000000000,"service":"a","msg":"x 1"}\n{"time":1700000000001,"service":"a","msg":"x 2"}\n',
    );
    const third = await investigate([join(folder.dir, 'bundle-a.jsonl')], { store: storePath });
    expect(third.report.totals).toMatchObject({ unchanged: 0, logs: 2 });
    await third.store.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('the DuckDB bulk path stores the same logs as the line-by-line path', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++)
      lines.push(
        JSON.stringify({
          level: i % 10 === 0 ? 50 : 30,
          time: 1700000000000 + i,
          service: `s${i % 3}`,
          instance: `s${i % 3}-1`,
          trace_id: `t${i}`,
          route: '/x',
          ...(i % 2 === 0 ? { 'we"ird': { a: [i, 'é'] } } : {}),
          msg: `request ${i} took ${i % 97}ms`,
        }),
      );
    lines.splice(100, 0, 'garbage line', '{"msg":"no time"}');
    // past the sampled head, a line without `route`, which every sampled line has
    lines.push(JSON.stringify({ level: 30, time: 1700000009999, service: 's0', msg: 'no route' }));
    const path = await folder.write('bulk.jsonl', `${lines.join('\n')}\n`);
    const slow = await investigate([path]);
    const fast = await investigate([path], { bulkMinBytes: 0 });
    try {
      const q = 'SELECT t_ms, service, instance, level, message, trace_id FROM logs ORDER BY t_ms';
      expect(await fast.store.query(q)).toEqual(await slow.store.query(q));
      expect(fast.report.files[0]?.notes.join()).toContain('bulk path');
      expect(fast.report.files[0]?.rejected).toBe(2);
      expect(fast.report.files[0]?.samples[0]?.text).toBe('"garbage line"');
      const tf = await fast.store.query('SELECT count(DISTINCT template_id)::INTEGER AS n FROM logs');
      const ts = await slow.store.query('SELECT count(DISTINCT template_id)::INTEGER AS n FROM logs');
      expect(tf[0]?.n).toBe(ts[0]?.n);
      // the fields no column holds stay in attrs, as valid JSON; absent ones are left out
      const attrs = 'SELECT attrs FROM logs ORDER BY t_ms';
      const [fa, sa] = [await fast.store.query(attrs), await slow.store.query(attrs)];
      expect(fa).toHaveLength(sa.length);
      fa.forEach((row, k) => {
        const f = JSON.parse(String(row.attrs)) as Record<string, unknown>;
        const s = JSON.parse(String(sa[k]?.attrs)) as Record<string, unknown>;
        // a key every sampled line has is written as null where a line lacks it
        expect(f.route).toBe(s.route ?? null);
        expect(f['we"ird']).toEqual(s['we"ird']);
        expect(Object.hasOwn(f, 'we"ird')).toBe(Object.hasOwn(s, 'we"ird'));
      });
    } finally {
      await slow.store.close();
      await fast.store.close();
    }
  });

  it('the bulk path reads epoch-number times as numbers, and ISO times among them as text', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++)
      lines.push(
        JSON.stringify({ time: 1700000000000 + i * 10, service: 'api', level: 30, msg: `tick ${i}` }),
      );
    // past the sampled head: ISO and numeric-string times, a second-resolution epoch, a time that
    // is no time, a record without one, a negative number and a broken line
    lines.push(
      JSON.stringify({ time: '2023-11-14T22:13:50.5Z', service: 'api', level: 30, msg: 'iso' }),
      JSON.stringify({ time: '1700000040000', service: 'api', msg: 'numeric string' }),
      JSON.stringify({ time: 1700000041, service: 'api', msg: 'seconds' }),
      JSON.stringify({ time: 'yesterday', service: 'api', msg: 'bad time' }),
      JSON.stringify({ service: 'api', msg: 'no time' }),
      JSON.stringify({ time: -5, service: 'api', msg: 'negative' }),
      '{"time": 17000',
    );
    const path = await folder.write('numeric.jsonl', `${lines.join('\n')}\n`);
    const slow = await investigate([path]);
    const fast = await investigate([path], { bulkMinBytes: 0 });
    try {
      const notes = fast.report.files[0]?.notes.join() ?? '';
      expect(notes).toContain('bulk path');
      expect(notes).toContain('times as text');
      const q = 'SELECT t_ms, message, template_id IS NOT NULL AS templated FROM logs ORDER BY t_ms, message';
      const [a, b] = [await fast.store.query(q), await slow.store.query(q)];
      expect(a).toEqual(b);
      expect(a.find((r) => r.message === 'iso')?.t_ms).toBe(Date.parse('2023-11-14T22:13:50.5Z'));
      expect(a.find((r) => r.message === 'seconds')?.t_ms).toBe(1700000041000);
      expect(fast.report.files[0]?.rejected).toBe(slow.report.files[0]?.rejected);
      expect(fast.report.files[0]?.records).toBe(3003);
    } finally {
      await slow.store.close();
      await fast.store.close();
    }
  });

  it('the bulk path looks repeated messages up whole, with more templates than DuckDB expects rows', async () => {
    // constant messages (the variables in fields, as structured loggers write them): 60 templates,
    // more than DuckDB's guess for read_json's rows, so the join's sides matter; every third line
    // carries a number; after the head, a constant and a numbered template the head never saw
    const lines: string[] = [];
    const line = (i: number, msg: string) =>
      JSON.stringify({ time: 1700000000000 + i, service: 'api', level: 30, user: i % 7, msg });
    let i = 0;
    for (; i < 24_000; i++)
      lines.push(
        line(i, i % 3 === 0 ? `GET /items/${i} 200` : `step${' done'.repeat(1 + (i % 60))} "é" <b>`),
      );
    for (let k = 0; k < 6000; k++, i++)
      lines.push(line(i, k % 2 === 0 ? 'late constant message' : `late job ${k} ok`));
    // and lines the load rejects, between repeated ones: a broken line, a record without a time
    lines.splice(25_000, 0, '{"msg":"late constant message"', '{"msg":"late constant message","level":30}');
    const path = await folder.write('exact.jsonl', `${lines.join('\n')}\n`);
    const slow = await investigate([path]);
    const fast = await investigate([path], { bulkMinBytes: 0 });
    try {
      expect(fast.report.files[0]?.notes.join()).toContain('exact messages');
      expect(fast.report.files[0]?.rejected).toBe(2);
      expect(fast.report.files[0]?.records).toBe(30_000);
      const q = `SELECT t_ms, message, min(t_ms) OVER (PARTITION BY template_id) AS first FROM logs ORDER BY t_ms`;
      const [a, b] = [await fast.store.query(q), await slow.store.query(q)];
      expect(a).toHaveLength(30_000);
      expect(a).toEqual(b);
      const counts = `SELECT count(DISTINCT template_id)::INTEGER AS n, count(*) FILTER (WHERE template_id IS NULL
           OR starts_with(template_id, chr(1)))::INTEGER AS unmined FROM logs`;
      const [nf, ns] = [await fast.store.query(counts), await slow.store.query(counts)];
      expect(nf[0]).toEqual({ n: ns[0]?.n, unmined: 0 });
      expect(Number(ns[0]?.n)).toBeGreaterThan(40);
    } finally {
      await slow.store.close();
      await fast.store.close();
    }
  });

  it('the bulk path mines templates that first appear after the head, hex ids included', async () => {
    // 21,000 lines of one template (the head mined before the load), then two templates the head
    // never saw, one of them with 60,000 distinct hex session ids (too many keys for the digit mask)
    const lines: string[] = [];
    const line = (i: number, msg: string) =>
      JSON.stringify({ time: 1700000000000 + i, service: 'api', level: 30, msg });
    let i = 0;
    for (; i < 21_000; i++) lines.push(line(i, `request ${i} took ${i % 97}ms`));
    for (let k = 0; k < 60_000; k++, i++)
      lines.push(
        line(
          i,
          k % 2 === 0 ? `cache miss for key order:${k}` : `session ${(k * 2654435761).toString(16)}ab opened`,
        ),
      );
    const path = await folder.write('late.jsonl', `${lines.join('\n')}\n`);
    const slow = await investigate([path]);
    const fast = await investigate([path], { bulkMinBytes: 0 });
    try {
      expect(fast.report.files[0]?.notes.join()).toContain('bulk path');
      // the same partition of the rows into templates: label each template by its first row
      const q = `SELECT t_ms, min(t_ms) OVER (PARTITION BY template_id) AS first FROM logs ORDER BY t_ms`;
      const [a, b] = [await fast.store.query(q), await slow.store.query(q)];
      expect(a).toHaveLength(81_000);
      expect(a).toEqual(b);
      const n = await fast.store.query(
        `SELECT count(DISTINCT template_id)::INTEGER AS n, count(*) FILTER (WHERE template_id IS NULL
           OR starts_with(template_id, chr(1)))::INTEGER AS unmined FROM logs`,
      );
      expect(n[0]).toEqual({ n: 3, unmined: 0 });
    } finally {
      await slow.store.close();
      await fast.store.close();
    }
  });

  it('flags a service whose logs sit far from their spans', async () => {
    const spans = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'skewed' } }] },
          scopeSpans: [{ spans: [] as unknown[] }],
        },
      ],
    };
    const logs: string[] = [];
    for (let i = 0; i < 10; i++) {
      const start = 1700000000000 + i * 1000;
      spans.resourceSpans[0]?.scopeSpans[0]?.spans.push({
        traceId: `t${i}`,
        spanId: `s${i}`,
        name: 'op',
        startTimeUnixNano: `${start}000000`,
        endTimeUnixNano: `${start + 50}000000`,
      });
      logs.push(
        JSON.stringify({
          time: start + 8 * 3_600_000,
          service: 'skewed',
          trace_id: `t${i}`,
          span_id: `s${i}`,
          msg: 'handled',
        }),
      );
    }
    const a = await folder.write('skew-spans.json', JSON.stringify(spans));
    const b = await folder.write('skew-logs.jsonl', logs.join('\n'));
    const { store, report } = await investigate([a, b]);
    await store.close();
    expect(report.clockSuspicions.map((c) => [c.service, c.kind])).toContainEqual([
      'skewed',
      'logs-vs-spans',
    ]);
    expect(report.clockSuspicions.find((c) => c.kind === 'logs-vs-spans')?.offsetMs).toBeCloseTo(
      8 * 3_600_000,
      -3,
    );
    // and its logs and spans do not overlap at all
    expect(report.clockSuspicions.find((c) => c.kind === 'disjoint-ranges')).toMatchObject({
      service: 'skewed',
      detail: 'logs and spans do not overlap (midpoints 480 min apart)',
    });
    expect(report.services).toEqual(['skewed']);
    expect(report.timeRange).toEqual({ fromMs: 1700000000000, toMs: 1700000009000 + 8 * 3_600_000 });
  });

  it('a log file whose records name no service is named after the file, in both paths; syslog names the program', async () => {
    const plain = await folder.write(
      'worker.log',
      '2024-01-02 03:04:05 ERROR job 1 failed\n2024-01-02 03:04:06 INFO job 2 done\n',
    );
    const syslog = await folder.write(
      'auth.log',
      'Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user admin from 10.0.0.1\n',
    );
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ level: 30, time: 1700000000000 + i, pid: 7, hostname: 'h1', msg: `tick ${i}` }),
    );
    const pinoNoService = await folder.write('pino-app.jsonl', `${lines.join('\n')}\n`);
    const named = await folder.write('named.jsonl', '{"time":1700000000000,"service":"a","msg":"x"}\n');
    for (const bulkMinBytes of [undefined, 0]) {
      const { store, report } = await investigate(
        [plain, syslog, pinoNoService, named],
        bulkMinBytes === undefined ? {} : { bulkMinBytes },
      );
      try {
        const rows = await store.query(
          'SELECT service, instance, count(*)::INTEGER AS n FROM logs GROUP BY 1, 2 ORDER BY 1',
        );
        expect(rows).toEqual([
          { service: 'a', instance: null, n: 1 },
          { service: 'pino-app', instance: 'h1', n: 300 },
          { service: 'sshd', instance: 'LabSZ', n: 1 },
          { service: 'worker', instance: null, n: 2 },
        ]);
        const notes = Object.fromEntries(
          report.files.map((f) => [f.path.split('/').pop(), f.notes.join(' ')]),
        );
        expect(notes['worker.log']).toContain('the file\'s name, "worker", is used as its service');
        expect(notes['pino-app.jsonl']).toContain('"pino-app"');
        expect(notes['auth.log']).not.toContain("file's name");
        expect(notes['named.jsonl']).not.toContain("file's name");
        expect(report.services).toEqual(['a', 'pino-app', 'sshd', 'worker']);
      } finally {
        await store.close();
      }
    }
  });

  it('fails clearly on a missing path or a bad --tz', async () => {
    await expect(investigate(['/no/such/path'])).rejects.toSatisfy(
      (e) => isForensicsError(e) && e.code === 'FL_FORENSICS_PATH_NOT_FOUND',
    );
    await expect(investigate([folder.dir], { tz: 'Nowhere/Else' })).rejects.toThrow(/--tz "Nowhere\/Else"/);
  });
});
