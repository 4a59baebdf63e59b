import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Analysis, Cause, Incident } from '../analysis/analysis-types.js';
import { analyze } from '../analysis/analyze.js';
import { writeSlowDatabaseIncident } from '../analysis/synthetic-incident.fixtures.js';
import type { FileReport } from '../ingest/file-report.js';
import { type IngestReport, investigate } from '../investigate.js';
import { incidentCharts } from './incident-charts.js';
import { escapeHtml, investigationHtml } from './investigation-html.js';

const EVIL = '<script>window.__pwned=1</script>';
const EVIL_IMG = '<img src=x onerror="window.__pwned=2">';
const T = 1_700_000_000_000;

const cause: Cause = {
  service: `db${EVIL}`,
  instance: `i-1'"&`,
  score: 3.5,
  signal: `log template "${EVIL_IMG}"`,
  mechanism: `pool ${EVIL}`,
  evidence: [
    {
      signalId: 'log db template T1',
      service: 'db',
      instance: null,
      source: 'log',
      kind: 'log-template',
      name: 'template',
      onsetMs: T + 60_000,
      direction: 'up',
      z: 12,
      before: 0,
      after: 4,
      stepMs: 1000,
      template: EVIL_IMG,
    },
  ],
  logs: [{ timeMs: T + 61_000, service: 'db', level: 'error', message: EVIL, traceId: `t${EVIL_IMG}` }],
  traces: [`trace${EVIL}`],
  firstMoves: [
    {
      signalId: 'metric db heap',
      service: 'db',
      instance: null,
      source: 'metric',
      kind: 'memory',
      name: `heap_used_bytes${EVIL}`,
      onsetMs: T + 30_000,
      direction: 'up',
      z: 9,
      before: 1,
      after: 4,
      stepMs: 1000,
    },
  ],
  explainedBy: null,
  virtual: false,
};

const incident: Incident = {
  window: { fromMs: T, toMs: T + 180_000 },
  onsetMs: T + 60_000,
  onsetBy: { service: EVIL_IMG, name: EVIL, source: 'log', z: 9 },
  severity: 10,
  causes: [cause],
  timeline: [{ timeMs: T + 60_000, service: EVIL_IMG, text: EVIL }],
  dependencies: [{ caller: `api${EVIL}`, callee: `db${EVIL}`, count: 3 }],
  dependencySource: 'traces',
  virtualServices: [],
};

const analysis: Analysis = {
  incidents: [incident],
  signals: { metric: 0, span: 0, log: 1 },
  stepMs: { metric: null, event: 1000 },
  durationMs: 1,
};

const file: FileReport = {
  path: `/tmp/${EVIL}.log`,
  format: 'json-logs',
  compressed: false,
  bytes: 100,
  records: 3,
  rejected: 1,
  rejectReasons: { [`bad ${EVIL_IMG}`]: 1 },
  samples: [{ line: 2, reason: 'invalid JSON', text: JSON.stringify(EVIL) }],
  timeRange: { fromMs: T, toMs: T + 1000 },
  services: ['db'],
  gzipError: null,
  invalidUtf8Lines: 0,
  skipped: null,
  notes: [EVIL],
  durationMs: 1,
};

const dataQuality: IngestReport = {
  files: [file],
  totals: {
    files: 1,
    unchanged: 0,
    records: 3,
    rejected: 1,
    logs: 3,
    templates: 1,
    series: 0,
    samples: 0,
    spans: 0,
    events: 0,
  },
  timeRange: { fromMs: T, toMs: T + 1000 },
  services: ['db'],
  clockSuspicions: [{ service: EVIL, kind: 'logs-vs-spans', offsetMs: 5000, detail: EVIL_IMG }],
  store: ':memory:',
  durationMs: 1,
};

const charts = [
  {
    fromMs: T - 60_000,
    toMs: T + 240_000,
    series: [
      {
        signalId: 'log db template T1',
        service: 'db',
        name: `log "${EVIL}"`,
        source: 'log' as const,
        kind: 'log-template' as const,
        stepMs: 1000,
        timesMs: [T, T + 1000],
        values: [0, null],
        onsetMs: T + 60_000,
        direction: 'up' as const,
        z: 12,
      },
    ],
  },
];

describe('investigationHtml', () => {
  const html = investigationHtml({ analysis, dataQuality, charts, title: EVIL, createdAt: 'now' });
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);

  it('escapes everything from the data: no markup of its own reaches the page', () => {
    expect(html).not.toContain(EVIL);
    expect(html).not.toContain(EVIL_IMG);
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;script&#62;window.__pwned=1&#60;/script&#62;');
    // the page's own three script elements, nothing else: data JSON, uPlot, the chart script
    expect(scripts).toEqual(['<script id="chart-data" type="application/json">', '<script>', '<script>']);
  });

  it('keeps the chart data inside its JSON element (no `<` in it)', () => {
    const json =
      /<script id="chart-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(json).not.toContain('<');
    const data = JSON.parse(json) as { series: { title: string }[] }[];
    expect(data[0]?.series[0]?.title).toBe(`db · log "${EVIL}"`);
  });

  it('is self-contained: a CSP that forbids every fetch, and no URL to load', () => {
    expect(html).toMatch(/Content-Security-Policy" content="default-src &#39;none&#39;;/);
    expect(html).toMatch(/script-src &#39;sha256-[A-Za-z0-9+/=]+&#39; &#39;sha256-/);
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '');
    expect(markup).not.toMatch(/<(link|iframe|object|embed|img|base)\b/i);
    expect(markup).not.toMatch(/<[a-z][^>]*\s(src|href|action|srcset)\s*=/i);
    expect(markup).not.toMatch(/@import|url\((?!#)/);
  });

  it('shows the sections: timeline, charts, cascade graph, causes, data quality', () => {
    expect(html).toContain('<h3>Timeline</h3>');
    expect(html).toContain('class="charts" data-incident="0"');
    expect(html).toContain('<svg class="cascade"');
    expect(html).toContain('<ol class="causes">');
    expect(html).toContain('id="data-quality"');
    expect(html).toContain('Incident 1: 2023-11-14 22:13:20 – 22:16:20 UTC');
    // what moved first, as text like every other signal name
    expect(html).toContain('<b>First to move</b> (i-1&#39;&#34;&#38;)');
    expect(html).toContain('heap_used_bytes&#60;script&#62;');
  });

  it('escapeHtml covers the five characters that matter', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });

  it('draws an inferred cascade dashed and says it was inferred from timing, not calls', () => {
    const inferred = investigationHtml({
      analysis: {
        ...analysis,
        incidents: [
          {
            ...incident,
            dependencies: [{ caller: 'api', callee: `db${EVIL}`, count: 2, lagMs: 4000 }],
            dependencySource: 'co-occurrence',
          },
        ],
      },
      dataQuality,
      charts,
    });
    expect(inferred).toContain('class="edge inferred"');
    expect(inferred).toContain('inferred from the order in which services moved');
    expect(inferred).toContain('median lag 4 s');
    expect(inferred).not.toContain(EVIL);
    expect(html).not.toContain('edge inferred');
  });

  it('draws an uninstrumented dependency as a dashed, labelled virtual node', () => {
    const page = investigationHtml({
      analysis: {
        ...analysis,
        incidents: [
          {
            ...incident,
            causes: [{ ...cause, service: 'postgresql', virtual: true }],
            dependencies: [{ caller: 'app', callee: 'postgresql', count: 40 }],
            virtualServices: ['postgresql'],
          },
        ],
      },
      dataQuality,
      charts,
    });
    expect(page).toContain('class="node virtual"');
    expect(page).toContain('uninstrumented, seen from its callers');
    expect(html).not.toContain('class="node virtual"');
  });

  it('says so when there is no incident', () => {
    const empty = investigationHtml({ analysis: { ...analysis, incidents: [] }, dataQuality, charts: [] });
    expect(empty).toContain('No incident found');
  });
});

describe('incidentCharts', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'faultline-charts-'));
    await writeSlowDatabaseIncident(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('cuts the evidence signals of the top causes out of the store, around the window', async () => {
    const { store } = await investigate([dir]);
    try {
      const result = await analyze(store);
      const charts = await incidentCharts(store, result);
      expect(charts).toHaveLength(result.incidents.length);
      const first = charts[0];
      const window = result.incidents[0]?.window;
      expect(first?.series.length).toBeGreaterThan(0);
      for (const s of first?.series ?? []) {
        expect(s.timesMs.length).toBe(s.values.length);
        expect(s.timesMs.length).toBeGreaterThan(3);
        expect(s.timesMs[0]).toBeGreaterThanOrEqual((first?.fromMs ?? 0) - s.stepMs);
        expect(s.onsetMs).toBeGreaterThanOrEqual((window?.fromMs ?? 0) - 10 * 60_000);
      }
      expect(first?.series[0]?.service).toBe(result.incidents[0]?.causes[0]?.service);
    } finally {
      await store.close();
    }
  });
});
